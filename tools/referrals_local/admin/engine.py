"""The layer's domain services over a located stack's table (not `wiring`, which reads the functions'
environment), plus the few reads the admin needs that no service offers."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from referral_engine.adapters.dynamodb import keys
from referral_engine.adapters.dynamodb.api_keys import DynamoApiKeyStore
from referral_engine.adapters.dynamodb.campaigns import DynamoCampaignStore
from referral_engine.adapters.dynamodb.participants import DynamoParticipantStore
from referral_engine.adapters.dynamodb.referrals import DynamoReferralStore
from referral_engine.adapters.dynamodb.table import Table
from referral_engine.domain.errors import NotFound
from referral_engine.domain.models import Campaign, Participant, Referral, Signal
from referral_engine.ports import EventPublisher
from referral_engine.services.api_keys import ApiKeyService
from referral_engine.services.campaigns import CampaignService
from referral_engine.services.matching import ReferralMatcher
from referral_engine.services.qualification import QualificationService
from referral_engine.services.referrals import ReferralService


@dataclass(frozen=True)
class ParticipantStats:
    participant: Participant
    campaign: Campaign | None


class Engine:
    def __init__(self, table: Table) -> None:
        self.table = table

    @cached_property
    def campaign_store(self) -> DynamoCampaignStore:
        return DynamoCampaignStore(self.table)

    @cached_property
    def participant_store(self) -> DynamoParticipantStore:
        return DynamoParticipantStore(self.table)

    @cached_property
    def referral_store(self) -> DynamoReferralStore:
        return DynamoReferralStore(self.table)

    @cached_property
    def campaigns(self) -> CampaignService:
        return CampaignService(self.campaign_store, self.participant_store)

    @cached_property
    def referrals(self) -> ReferralService:
        return ReferralService(self.campaign_store, self.participant_store, self.referral_store)

    def qualification(self, publisher: EventPublisher) -> QualificationService:
        return QualificationService(
            self.campaign_store, self.participant_store, self.referral_store, publisher
        )

    @cached_property
    def api_keys(self) -> ApiKeyService:
        return ApiKeyService(DynamoApiKeyStore(self.table))

    def participant(self, code: str) -> ParticipantStats:
        item: dict[str, Any] | None = self.table.get(keys.participant(code.strip().lower()), consistent=True)
        if item is None:
            raise NotFound(f"no referral code {code!r}")
        participant = Participant.model_validate(item)
        return ParticipantStats(
            participant=participant, campaign=self.campaign_store.get(participant.campaign_id)
        )

    def referral_of(self, signal: Signal) -> Referral | None:
        return ReferralMatcher(self.participant_store, self.referral_store).find(signal)
