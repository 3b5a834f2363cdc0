"""Recording referred signups and reading referrals."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from referral_engine.domain.errors import (
    AlreadyParticipant,
    CampaignInactive,
    ExternalIdTaken,
    InvalidRequest,
    NotFound,
    SelfReferral,
)
from referral_engine.domain.fields import Email, ExternalIds
from referral_engine.domain.identifiers import new_code, new_id, normalise_code
from referral_engine.domain.models import (
    AuditEntry,
    Participant,
    Referral,
    ReferralStatus,
    utcnow,
)
from referral_engine.domain.states import REFERRALS
from referral_engine.ports import (
    CampaignStore,
    CodeTaken,
    CorrelationSource,
    EmailTaken,
    ExternalIdClaimed,
    ParticipantStore,
    ReferralHistory,
    ReferralPage,
    ReferralSort,
    ReferralStore,
    no_correlation,
)
from referral_engine.services.campaigns import CODE_ATTEMPTS, Name


class NewSignup(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str
    email: Email
    name: Name | None = None
    external_ids: ExternalIds = {}


class ReferralService:
    def __init__(
        self,
        campaigns: CampaignStore,
        participants: ParticipantStore,
        referrals: ReferralStore,
        correlation: CorrelationSource = no_correlation,
    ) -> None:
        self._campaigns = campaigns
        self._participants = participants
        self._referrals = referrals
        self._correlation = correlation

    def sign_up(self, request: NewSignup, *, actor: str) -> tuple[Referral, bool]:
        """Attributes a referred person's signup to the advocate whose code they used.

        Returns the referral and whether it was created: the same email again in the campaign
        returns the first referral, which stands.
        """
        code = normalise_code(request.code)
        advocate = self._participants.get(code) if code else None
        if advocate is None:
            raise NotFound(f"no referral code {request.code!r}")
        if advocate.email == request.email:
            raise SelfReferral("an advocate cannot refer themselves")
        campaign = self._campaigns.get(advocate.campaign_id)
        if campaign is None:
            raise NotFound(f"no campaign {advocate.campaign_id}")
        if campaign.status != "active":
            raise CampaignInactive(f"campaign {campaign.id} is {campaign.status}")

        for _ in range(CODE_ATTEMPTS):
            now = utcnow()
            referral = Referral(
                id=new_id("ref"),
                campaign_id=campaign.id,
                advocate_code=advocate.code,
                referred_code=new_code(),
                referred_email=request.email,
                referred_name=request.name,
                external_ids=request.external_ids,
                joined_at=now,
                correlation_id=self._correlation(),
            )
            REFERRALS.require_entry(referral.status)
            referred = Participant(
                code=referral.referred_code,
                campaign_id=campaign.id,
                email=request.email,
                name=request.name,
                external_ids=request.external_ids,
                referral_id=referral.id,
                landing_url=campaign.landing_url,
                created_at=now,
            )
            audit = AuditEntry(
                referral_id=referral.id,
                at=now,
                action="referral.created",
                actor=actor,
                to_status=referral.status,
                detail={"advocate_code": advocate.code},
            )
            try:
                self._referrals.add(referral, referred, audit)
            except CodeTaken:
                continue
            except ExternalIdClaimed as error:
                raise ExternalIdTaken(str(error)) from error
            except EmailTaken:
                return self._existing_referral(campaign.id, request.email), False
            return referral, True
        raise RuntimeError("could not find a free referral code")

    def _existing_referral(self, campaign_id: str, email: str) -> Referral:
        participant = self._participants.by_email(campaign_id, email)
        if participant is None or participant.referral_id is None:
            raise AlreadyParticipant("this email already takes part in the campaign as an advocate")
        referral = self._referrals.get(participant.referral_id)
        if referral is None:
            raise NotFound(f"no referral {participant.referral_id}")
        return referral

    def history(self, referral_id: str) -> ReferralHistory:
        history = self._referrals.history(referral_id)
        if history is None:
            raise NotFound(f"no referral {referral_id}")
        return history

    def list(
        self,
        campaign_id: str,
        *,
        status: ReferralStatus | None,
        sort: ReferralSort,
        descending: bool,
        limit: int,
        cursor: str | None,
    ) -> ReferralPage:
        if self._campaigns.get(campaign_id) is None:
            raise NotFound(f"no campaign {campaign_id}")
        try:
            return self._referrals.page(
                campaign_id, status=status, sort=sort, descending=descending, limit=limit, cursor=cursor
            )
        except ValueError as error:
            raise InvalidRequest("the cursor is not valid") from error
