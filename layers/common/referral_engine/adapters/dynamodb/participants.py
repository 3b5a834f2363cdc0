"""Participants (anyone with a referral code) and the per-campaign email claims that keep them unique."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from referral_engine.adapters.dynamodb import keys
from referral_engine.adapters.dynamodb.codec import Item, model_item, to_item
from referral_engine.adapters.dynamodb.table import Table, TransactionCancelled
from referral_engine.domain.click_shards import CLICK_SHARDS, total_clicks
from referral_engine.domain.models import Participant
from referral_engine.domain.records import parse, replace
from referral_engine.ports import CodeTaken, EmailTaken

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef


def participant_item(participant: Participant) -> Item:
    return model_item(
        participant,
        "participant",
        **keys.participant(participant.code),
        gsi1pk=keys.participants_of(participant.campaign_id),
        gsi1sk=f"{keys.iso(participant.created_at)}#{participant.code}",
    )


def claim_ops(table: Table, participant: Participant) -> list[TransactWriteItemTypeDef]:
    """The email claim and the participant item, each conditional on not existing (in that order), then
    the participant under its canonical email (for the fraud checks)."""
    from referral_engine.adapters.dynamodb.signup_evidence import canonical_email_item

    claim: dict[str, Any] = {
        **keys.email_claim(participant.campaign_id, participant.email),
        "entity": "email_claim",
        "code": participant.code,
    }
    return [
        table.put_op(to_item(claim)),
        table.put_op(participant_item(participant)),
        table.put_op(canonical_email_item(participant), new=False),
    ]


def raise_claim_failure(cancelled: TransactionCancelled, claim_index: int) -> None:
    if cancelled.failed(claim_index):
        raise EmailTaken from cancelled
    if cancelled.failed(claim_index + 1):
        raise CodeTaken from cancelled


class DynamoParticipantStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    def add(self, participant: Participant) -> None:
        try:
            self._table.transact(claim_ops(self._table, participant))
        except TransactionCancelled as cancelled:
            raise_claim_failure(cancelled, 0)
            raise

    def get(self, code: str) -> Participant | None:
        item = self._table.get(keys.participant(code), consistent=True)
        return parse(Participant, item) if item else None

    def by_email(self, campaign_id: str, email: str) -> Participant | None:
        claim = self._table.get(keys.email_claim(campaign_id, email), consistent=True)
        return self.get(claim["code"]) if claim else None

    def with_clicks(self, participant: Participant) -> Participant:
        """The participant with `clicks` and `repeat_clicks` summed over its item and its click shards
        (one BatchGetItem). A shard item holds either counter or both."""
        shards = [keys.click_shard(participant.code, shard) for shard in range(CLICK_SHARDS)]
        counted = self._table.get_many(shards, attributes="clicks, repeat_clicks")
        return replace(
            participant,
            clicks=total_clicks(participant.clicks, (int(item.get("clicks", 0)) for item in counted)),
            repeat_clicks=total_clicks(
                participant.repeat_clicks, (int(item.get("repeat_clicks", 0)) for item in counted)
            ),
        )
