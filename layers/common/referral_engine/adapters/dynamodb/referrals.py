"""Referrals, their rewards and audit trail (one item collection per referral), and state transitions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from referral_engine.adapters.dynamodb import cursor as cursors
from referral_engine.adapters.dynamodb import keys
from referral_engine.adapters.dynamodb.codec import model_item, to_item, value
from referral_engine.adapters.dynamodb.participants import claim_ops, raise_claim_failure
from referral_engine.adapters.dynamodb.reviews import hold_signal, opening_ops, referral_review
from referral_engine.adapters.dynamodb.rewards import issue_ops, update_op
from referral_engine.adapters.dynamodb.signup_evidence import trace_ops
from referral_engine.adapters.dynamodb.table import Table, TransactionCancelled
from referral_engine.domain.models import (
    AuditEntry,
    Participant,
    Referral,
    ReferralStatus,
    Reward,
    Signal,
    utcnow,
)
from referral_engine.domain.records import dump, parse, replace
from referral_engine.domain.reversals import HeldReversal, Reversal
from referral_engine.domain.reviews import ReviewItem
from referral_engine.domain.states import REFERRALS
from referral_engine.ports import (
    ExternalIdClaimed,
    HoldOutcome,
    ReferralHistory,
    ReferralPage,
    ReferralSort,
    SignupTrace,
    TransitionResult,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

_INDEX = {"joined_at": ("gsi1", "gsi1pk", "gsi1sk"), "qualified_at": ("gsi2", "gsi2pk", "gsi2sk")}
# A reversal waiting on a pending referral for the payment it undoes (domain/reversals.py).
_HOLD = "held_reversal"
_REVERSAL = "reversal"  # what reversed it (domain/reversals.Reversal)


@dataclass(frozen=True)
class _Guard:
    """A condition added to a transition's condition on the status, with its placeholders."""

    condition: str
    values: dict[str, Any]
    names: dict[str, str]


def external_id(source: str, vendor_id: str) -> str:
    return f"{source}:{vendor_id}"


class DynamoReferralStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    def add(
        self,
        referral: Referral,
        referred: Participant,
        audit: AuditEntry,
        trace: SignupTrace | None = None,
        review: ReviewItem | None = None,
    ) -> None:
        table = self._table
        referral_item = model_item(
            referral,
            "referral",
            **keys.referral(referral.id),
            **keys.referral_indexes(referral.campaign_id, referral.id, referral.joined_at, None),
            **({"review": referral_review(review)} if review else {}),
        )
        operations: list[TransactWriteItemTypeDef] = [
            *claim_ops(table, referred),
            table.put_op(referral_item),
            table.put_op(self._audit_item(audit), new=False),
            self._update(
                keys.participant(referral.advocate_code),
                "ADD referrals :one",
                {":one": 1},
                condition="attribute_exists(pk)",
            ),
        ]
        first_claim = len(operations)
        for source, vendor_id in referral.external_ids.items():
            claim = {
                **keys.external_id_claim(referral.campaign_id, external_id(source, vendor_id)),
                "entity": "external_id_claim",
                "referral_id": referral.id,
            }
            operations.append(table.put_op(to_item(claim)))
        if trace is not None:
            operations += trace_ops(table, referral, trace)
        if review is not None:  # after the claims, whose failures are told by their position
            operations += opening_ops(table, review)
        try:
            table.transact(operations)
        except TransactionCancelled as cancelled:
            raise_claim_failure(cancelled, 0)
            taken = [
                source
                for index, source in enumerate(referral.external_ids, start=first_claim)
                if cancelled.failed(index)
            ]
            if taken:
                raise ExternalIdClaimed(f"external id already used by another referral: {taken}") from None
            raise

    def get(self, referral_id: str) -> Referral | None:
        item = self._table.get(keys.referral(referral_id), consistent=True)
        return parse(Referral, item) if item else None

    def history(self, referral_id: str) -> ReferralHistory | None:
        items, _ = self._table.query(
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": value(keys.referral_partition(referral_id))},
            ConsistentRead=True,
        )
        referral = next((item for item in items if item["sk"] == "REFERRAL"), None)
        if referral is None:
            return None
        return ReferralHistory(
            referral=parse(Referral, referral),
            rewards=[parse(Reward, item) for item in items if item["sk"].startswith("REWARD#")],
            audit=[parse(AuditEntry, item) for item in items if item["sk"].startswith("AUDIT#")],
        )

    def by_external_id(self, campaign_id: str, external_id: str) -> Referral | None:
        claim = self._table.get(keys.external_id_claim(campaign_id, external_id), consistent=True)
        return self.get(claim["referral_id"]) if claim else None

    def by_payment_id(self, campaign_id: str, payment_id: str) -> Referral | None:
        claim = self._table.get(keys.payment_claim(campaign_id, payment_id), consistent=True)
        return self.get(claim["referral_id"]) if claim else None

    def page(
        self,
        campaign_id: str,
        *,
        status: ReferralStatus | None,
        sort: ReferralSort,
        descending: bool,
        limit: int,
        cursor: str | None,
    ) -> ReferralPage:
        index, partition_key, sort_key = _INDEX[sort]
        partition = (
            keys.referrals_by_joined(campaign_id)
            if sort == "joined_at"
            else keys.referrals_by_qualified(campaign_id)
        )
        query: dict[str, Any] = {
            "IndexName": index,
            "KeyConditionExpression": f"{partition_key} = :partition",
            "ExpressionAttributeValues": {":partition": value(partition)},
            "ScanIndexForward": not descending,
            "Limit": limit,
        }
        if status is not None:
            query["FilterExpression"] = "#status = :status"
            query["ExpressionAttributeNames"] = {"#status": "status"}
            query["ExpressionAttributeValues"][":status"] = value(status)
        if cursor:
            start = cursors.decode(
                cursor, expected={partition_key: partition}, key_names={"pk", "sk", partition_key, sort_key}
            )
            query["ExclusiveStartKey"] = to_item(start)
        items, last = self._table.query(**query)
        return ReferralPage(items=[parse(Referral, item) for item in items], next_cursor=cursors.encode(last))

    def mark_qualified(
        self,
        referral: Referral,
        signal_key: str,
        audit: AuditEntry,
        *,
        despite: HeldReversal | None = None,
        payment_ids: Sequence[str] = (),
        milestone_at: datetime | None = None,
    ) -> TransitionResult:
        qualified_at = audit.at
        if despite is None:  # and no reversal may be waiting for this payment
            guard = _Guard("attribute_not_exists(#hold)", {}, {"#hold": _HOLD})
        else:  # the held reversal the caller read and found not to undo this payment, and no other
            guard = _Guard(
                "#hold.#source = :held_source AND #hold.#event_id = :held_event",
                {":held_source": despite.source, ":held_event": despite.event_id},
                {"#hold": _HOLD, "#source": "source", "#event_id": "event_id"},
            )
        payment_ids = list(dict.fromkeys(payment_ids))  # one write per item in a transaction
        paid: dict[str, Any] = {"payment_ids": payment_ids} if payment_ids else {}
        if milestone_at is not None:
            paid["milestone_at"] = milestone_at
        return self._transition(
            referral,
            ReferralStatus.QUALIFIED,
            {**self._qualified_fields(referral, signal_key, qualified_at), **paid},
            audit,
            [self._payment_claim(referral, payment_id) for payment_id in payment_ids],
            updated=replace(
                referral,
                **{
                    "status": ReferralStatus.QUALIFIED,
                    "qualified_at": qualified_at,
                    "qualified_by": signal_key,
                    **paid,
                },
            ),
            guard=guard,
        )

    def _payment_claim(self, referral: Referral, payment_id: str) -> TransactWriteItemTypeDef:
        """Unconditional: a payment that qualified a referral once points at the last one it qualified."""
        claim = {
            **keys.payment_claim(referral.campaign_id, payment_id),
            "entity": "payment_claim",
            "referral_id": referral.id,
        }
        return self._table.put_op(to_item(claim), new=False)

    def hold_reversal(self, referral: Referral, hold: HeldReversal, audit: AuditEntry) -> TransitionResult:
        update = self._update(
            keys.referral(referral.id),
            "SET #hold = :hold, #updated = :now",
            {
                ":hold": dump(hold),
                ":now": utcnow(),
                ":pending": ReferralStatus.PENDING,
                ":in_review": ReferralStatus.IN_REVIEW,
                ":occurred": keys.iso(hold.occurred_at),
            },
            # ISO-8601 UTC times with microseconds sort as text: keep the reversal that happened last.
            condition="#status IN (:pending, :in_review) "
            "AND (attribute_not_exists(#hold) OR #hold.#occurred <= :occurred)",
            names={"#status": "status", "#hold": _HOLD, "#occurred": "occurred_at", "#updated": "updated_at"},
        )
        try:
            self._table.transact([update, self._table.put_op(self._audit_item(audit), new=False)])
        except TransactionCancelled as cancelled:
            if not cancelled.failed(0):
                raise
            current = self.get(referral.id)
            if current is None:
                raise
            if current.status not in (ReferralStatus.PENDING, ReferralStatus.IN_REVIEW):
                return TransitionResult(applied=False, current=current)
            self.append_audit(audit)  # a reversal that happened later is held: it covers this one
            return TransitionResult(applied=True, current=current)
        return TransitionResult(applied=True, current=referral)

    def held_reversal(self, referral_id: str) -> HeldReversal | None:
        item = self._table.get(keys.referral(referral_id), consistent=True)
        held = item.get(_HOLD) if item else None
        return parse(HeldReversal, held) if held else None

    def mark_reversed(self, referral: Referral, reversal: Reversal, audit: AuditEntry) -> TransitionResult:
        return self._transition(
            referral,
            ReferralStatus.REVERSED,
            self._reversed_fields(reversal),
            audit,
            [],
            updated=replace(
                referral, **{"status": ReferralStatus.REVERSED, **self._reversed_state(reversal)}
            ),
        )

    def qualify_into_reversal(
        self,
        referral: Referral,
        signal_key: str,
        qualified: AuditEntry,
        reversed_: AuditEntry,
        reversal: Reversal,
    ) -> TransitionResult:
        return self._transition(
            referral,
            ReferralStatus.REVERSED,
            {
                **self._qualified_fields(referral, signal_key, qualified.at),
                **self._reversed_fields(reversal),
            },
            qualified,
            [self._table.put_op(self._audit_item(reversed_), new=False)],
            through=ReferralStatus.QUALIFIED,
            updated=replace(
                referral,
                **{
                    "status": ReferralStatus.REVERSED,
                    "qualified_at": qualified.at,
                    "qualified_by": signal_key,
                    **self._reversed_state(reversal),
                },
            ),
        )

    def reversal_of(self, referral_id: str) -> Reversal | None:
        item = self._table.get(keys.referral(referral_id), consistent=True)
        reversal = item.get(_REVERSAL) if item else None
        return parse(Reversal, reversal) if reversal else None

    def hold_for_review(self, referral: Referral, signal: Signal, audit: AuditEntry) -> HoldOutcome:
        return hold_signal(self._table, referral, signal, audit)

    @staticmethod
    def _reversed_state(reversal: Reversal) -> dict[str, Any]:
        return {"reversed_at": reversal.at, "reversed_by": reversal.signal_key}

    @classmethod
    def _reversed_fields(cls, reversal: Reversal) -> dict[str, Any]:
        return {**cls._reversed_state(reversal), _REVERSAL: dump(reversal)}

    @staticmethod
    def _qualified_fields(referral: Referral, signal_key: str, qualified_at: datetime) -> dict[str, Any]:
        indexes = keys.referral_indexes(referral.campaign_id, referral.id, referral.joined_at, qualified_at)
        return {
            "qualified_at": qualified_at,
            "qualified_by": signal_key,
            "gsi2pk": indexes["gsi2pk"],
            "gsi2sk": indexes["gsi2sk"],
        }

    def record_rewards(
        self, referral: Referral, rewards: list[Reward], audit: AuditEntry
    ) -> TransitionResult:
        operations = issue_ops(self._table, rewards)
        rewarded_at = audit.at
        return self._transition(
            referral,
            ReferralStatus.REWARDED,
            {"rewarded_at": rewarded_at},
            audit,
            operations,
            updated=replace(referral, **{"status": ReferralStatus.REWARDED, "rewarded_at": rewarded_at}),
        )

    def append_audit(self, entry: AuditEntry) -> None:
        self._table.put(self._audit_item(entry))

    def _transition(
        self,
        referral: Referral,
        target: ReferralStatus,
        fields: dict[str, Any],
        audit: AuditEntry,
        extra: list[TransactWriteItemTypeDef],
        *,
        updated: Referral,
        guard: _Guard | None = None,
        through: ReferralStatus | None = None,
    ) -> TransitionResult:
        """One conditional write moves the status; the audit entry and `extra` land with it or not at all.

        `guard` adds a condition to the one on the status; `through` is a status the write passes through
        on its way to `target`. Raises IllegalTransition, writing nothing, for a move the state machine
        does not have from the status the write is conditioned on (the services check it first).
        """
        expected = referral.status
        REFERRALS.require(expected, *((target,) if through is None else (through, target)))
        assignments = {"status": target, "updated_at": utcnow(), **fields}
        names = {f"#f{i}": name for i, name in enumerate(assignments)}
        values = {f":v{i}": field_value for i, field_value in enumerate(assignments.values())}
        expression = "SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(assignments)))
        update = self._update(
            keys.referral(referral.id),
            expression,
            {**values, ":expected": expected, **(guard.values if guard else {})},
            condition="#status = :expected" + (f" AND {guard.condition}" if guard else ""),
            names={**names, "#status": "status", **(guard.names if guard else {})},
        )
        try:
            self._table.transact([update, self._table.put_op(self._audit_item(audit), new=False), *extra])
        except TransactionCancelled as cancelled:
            if not cancelled.failed(0):
                raise
            current = self.get(referral.id)
            if current is None:
                raise
            return TransitionResult(applied=False, current=current)
        return TransitionResult(applied=True, current=updated)

    def _update(
        self,
        key: dict[str, str],
        expression: str,
        values: dict[str, Any],
        *,
        condition: str,
        names: dict[str, str] | None = None,
    ) -> TransactWriteItemTypeDef:
        return update_op(self._table, key, expression, values, condition=condition, names=names)

    @staticmethod
    def _audit_item(entry: AuditEntry) -> dict[str, Any]:
        return model_item(entry, "audit", **keys.audit(entry.referral_id, entry.at, entry.action))
