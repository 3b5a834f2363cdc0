"""The review queue in the table (docs/adr/0019): each item in its own partition (`REVIEW#<id>`), the
open ones on gsi1 in one partition (`REVIEWS`, oldest first), removed from it when decided.

A decision is one transaction: the item (condition: still open), the referral's or the reward's move
(condition: its status), the audit entry and, approving a fraud item, the held qualifying signal
replayed into the signal inbox. Two admins at once: one transaction wins, the other is cancelled.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from referral_engine.adapters.dynamodb import cursor as cursors
from referral_engine.adapters.dynamodb import keys
from referral_engine.adapters.dynamodb.codec import Item, model_item, to_item, value
from referral_engine.adapters.dynamodb.signals import inbox_item
from referral_engine.adapters.dynamodb.table import Table, TransactionCancelled, TransactionConflict
from referral_engine.domain.errors import Conflict
from referral_engine.domain.models import AuditEntry, Referral, ReferralStatus, Reward, Signal, utcnow
from referral_engine.domain.records import parse
from referral_engine.domain.reviews import ReviewDecided, ReviewItem, ReviewKind, clawback_review
from referral_engine.ports import DecideAgain, HoldOutcome, ReviewPage

if TYPE_CHECKING:
    from datetime import datetime

    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

_REVIEW = "review"  # on a referral item: its review's id and reasons (and decision), for the events
# The advocate's recent referrals are found among the campaign's latest signups: a bounded read.
_ADVOCATE_SCAN = 200


def review_item(item: ReviewItem) -> Item:
    extra = keys.review_index(item.opened_at, item.id) if item.is_open else {}
    return model_item(item, "review", **keys.review(item.id), **extra)


def referral_review(item: ReviewItem) -> dict[str, Any]:
    """What a referral item keeps of its review (announce_referrals reads it from the stream)."""
    return {
        "id": item.id,
        "reasons": list(item.reasons),
        "status": item.status,
        "decided_at": item.decided_at,
    }


def opening_ops(table: Table, item: ReviewItem) -> list[TransactWriteItemTypeDef]:
    """Opening a review item, in the transaction that creates its referral `in_review`."""
    return [table.put_op(review_item(item))]


def _audit_item(entry: AuditEntry) -> Item:
    return model_item(entry, "audit", **keys.audit(entry.referral_id, entry.at, entry.action))


def _update(
    table: Table,
    key: dict[str, str],
    expression: str,
    values: dict[str, Any],
    condition: str,
    names: dict[str, str],
) -> TransactWriteItemTypeDef:
    return {
        "Update": {
            "TableName": table.name,
            "Key": to_item(key),
            "UpdateExpression": expression,
            "ConditionExpression": condition,
            "ExpressionAttributeValues": to_item(values),
            "ExpressionAttributeNames": names,
        }
    }


def _condition(
    table: Table, key: dict[str, str], condition: str, values: dict[str, Any] | None = None
) -> TransactWriteItemTypeDef:
    check: dict[str, Any] = {"TableName": table.name, "Key": to_item(key), "ConditionExpression": condition}
    if values:
        check["ExpressionAttributeValues"] = to_item(values)
    return {"ConditionCheck": check}  # type: ignore[typeddict-item]


def hold_signal(table: Table, referral: Referral, signal: Signal, audit: AuditEntry) -> HoldOutcome:
    """ReferralStore.hold_for_review: kept only while the referral is in review, one per referral."""
    status_check = _condition(
        table, keys.referral(referral.id), "#status = :in_review", {":in_review": ReferralStatus.IN_REVIEW}
    )
    status_check["ConditionCheck"]["ExpressionAttributeNames"] = {"#status": "status"}
    held = table.put_op(model_item(signal, "held_signal", **keys.held_signal(referral.id)))
    try:
        table.transact([status_check, held, table.put_op(_audit_item(audit), new=False)])
    except TransactionCancelled as cancelled:
        if cancelled.failed(0):
            return "not_in_review"
        table.put(_audit_item(audit))
        return "kept_one_already"
    return "held"


class DynamoReviewStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    # ------------------------------------------------------------------------------ reading
    def get(self, review_id: str) -> ReviewItem | None:
        item = self._table.get(keys.review(review_id), consistent=True)
        return parse(ReviewItem, item) if item else None

    def page(
        self,
        *,
        campaign_id: str | None,
        kind: ReviewKind | None,
        reason: str | None,
        opened_before: datetime | None,
        limit: int,
        cursor: str | None,
    ) -> ReviewPage:
        values: dict[str, Any] = {":partition": keys.REVIEWS}
        key_condition = "gsi1pk = :partition"
        if opened_before is not None:
            key_condition += " AND gsi1sk < :before"
            values[":before"] = keys.iso(opened_before)
        filters: list[str] = []
        names: dict[str, str] = {}
        for name, wanted, test in (
            ("campaign_id", campaign_id, "#campaign_id = :campaign_id"),
            ("kind", kind, "#kind = :kind"),
            ("reasons", reason, "contains(#reasons, :reasons)"),
        ):
            if wanted is not None:
                filters.append(test)
                names[f"#{name}"] = name
                values[f":{name}"] = wanted
        query: dict[str, Any] = {
            "IndexName": "gsi1",
            "KeyConditionExpression": key_condition,
            "ExpressionAttributeValues": to_item(values),
            "ScanIndexForward": True,
            "Limit": limit,
        }
        if filters:
            query["FilterExpression"] = " AND ".join(filters)
            query["ExpressionAttributeNames"] = names
        if cursor:
            start = cursors.decode(
                cursor, expected={"gsi1pk": keys.REVIEWS}, key_names={"pk", "sk", "gsi1pk", "gsi1sk"}
            )
            if opened_before is not None and str(start["gsi1sk"]) >= values[":before"]:
                # A cursor past the age asked for now (its list was asked with another): nothing follows,
                # and DynamoDB refuses a start key outside the key condition.
                return ReviewPage(items=[], next_cursor=None)
            query["ExclusiveStartKey"] = to_item(start)
        items, last = self._table.query(**query)
        return ReviewPage(items=[parse(ReviewItem, item) for item in items], next_cursor=cursors.encode(last))

    def oldest_open(self) -> ReviewItem | None:
        items, _ = self._table.query(
            IndexName="gsi1",
            KeyConditionExpression="gsi1pk = :partition",
            ExpressionAttributeValues={":partition": value(keys.REVIEWS)},
            ScanIndexForward=True,
            Limit=1,
        )
        return parse(ReviewItem, items[0]) if items else None

    def held_signal(self, referral_id: str) -> Signal | None:
        item = self._table.get(keys.held_signal(referral_id), consistent=True)
        return parse(Signal, item) if item else None

    def advocate_referrals(self, campaign_id: str, advocate_code: str, *, limit: int) -> list[Referral]:
        items, _ = self._table.query(
            IndexName="gsi1",
            KeyConditionExpression="gsi1pk = :partition",
            FilterExpression="advocate_code = :code",
            ExpressionAttributeValues={
                ":partition": value(keys.referrals_by_joined(campaign_id)),
                ":code": value(advocate_code),
            },
            ScanIndexForward=False,
            Limit=_ADVOCATE_SCAN,
        )
        return [parse(Referral, item) for item in items[:limit]]

    # ------------------------------------------------------------------------------ writing
    def open_clawback(self, referral: Referral, reward: Reward, reason: str) -> None:
        now = utcnow()
        item = clawback_review(referral, reward.recipient, now)
        claim = {**keys.clawback_claim(referral.id, reward.recipient), "entity": "clawback_claim"}
        audit = AuditEntry(
            referral_id=referral.id,
            at=now,
            action="review.opened",
            actor="system:clawback",
            detail={"review_id": item.id, "kind": item.kind, "reward_id": reward.id, "reason": reason},
        )
        try:
            self._table.transact(
                [
                    self._table.put_op(to_item({**claim, "review_id": item.id})),
                    self._table.put_op(review_item(item)),
                    self._table.put_op(_audit_item(audit), new=False),
                ]
            )
        except TransactionCancelled as cancelled:
            if not cancelled.failed(0):
                raise  # the clawback of this reward is in the queue already: nothing to do

    def decide(
        self,
        decided: ReviewItem,
        audit: AuditEntry,
        *,
        reward: tuple[Reward, Reward] | None = None,
        held: Signal | None = None,
        replay: Signal | None = None,
    ) -> None:
        table = self._table
        operations = [
            self._close(decided),
            self._move(decided, audit, reward),
            table.put_op(_audit_item(audit), new=False),
        ]
        replaying = decided.kind is ReviewKind.FRAUD and audit.to_status is ReferralStatus.PENDING
        if replaying:
            operations += self._replay_ops(decided.referral_id, held, replay)
        try:
            table.transact(operations)
        except TransactionConflict:
            raise DecideAgain(decided.referral_id) from None  # another admin's decision, most likely
        except TransactionCancelled as cancelled:
            if cancelled.failed(0):
                current = self.get(decided.id)
                by = f" by {current.decided_by}" if current and current.decided_by else ""
                raise ReviewDecided(f"review {decided.id} was decided already{by}") from None
            if cancelled.failed(1):
                what = "referral" if reward is None else "reward"
                raise Conflict(f"the {what} of review {decided.id} is no longer where it was") from None
            raise DecideAgain(decided.referral_id) from None

    def _close(self, decided: ReviewItem) -> TransactWriteItemTypeDef:
        return _update(
            self._table,
            keys.review(decided.id),
            "SET #status = :status, decided_by = :by, decided_at = :at, decision_reason = :reason"
            " REMOVE gsi1pk, gsi1sk",
            {
                ":status": decided.status,
                ":by": decided.decided_by,
                ":at": decided.decided_at,
                ":reason": decided.decision_reason,
                ":open": "open",
            },
            "#status = :open",
            {"#status": "status"},
        )

    def _move(
        self, decided: ReviewItem, audit: AuditEntry, reward: tuple[Reward, Reward] | None
    ) -> TransactWriteItemTypeDef:
        """The referral's move (fraud), the reward's (a clawback approved), or a check that the reward
        is still as read (a clawback waived)."""
        table = self._table
        if decided.kind is ReviewKind.FRAUD:
            return _update(
                table,
                keys.referral(decided.referral_id),
                "SET #status = :target, updated_at = :now, #review = :review",
                {
                    ":target": audit.to_status,
                    ":now": audit.at,
                    ":review": referral_review(decided),
                    ":expected": audit.from_status,
                },
                "#status = :expected",
                {"#status": "status", "#review": _REVIEW},
            )
        if reward is None or decided.reward_recipient is None:
            raise ValueError("a clawback decision names its reward")
        before, after = reward
        return _update(
            table,
            keys.reward(decided.referral_id, decided.reward_recipient),
            "SET #status = :target, updated_at = :now",
            {":target": after.status, ":now": audit.at, ":expected": before.status},
            "#status = :expected",
            {"#status": "status"},
        )

    def _replay_ops(
        self, referral_id: str, held: Signal | None, replay: Signal | None
    ) -> list[TransactWriteItemTypeDef]:
        """The held signal (as read) into the inbox; none held: a check that none was kept meanwhile."""
        table = self._table
        key = keys.held_signal(referral_id)
        if held is None or replay is None:
            return [_condition(table, key, "attribute_not_exists(pk)")]
        return [
            {
                "Delete": {
                    "TableName": table.name,
                    "Key": to_item(key),
                    "ConditionExpression": "event_id = :event",
                    "ExpressionAttributeValues": to_item({":event": held.event_id}),
                }
            },
            table.put_op(inbox_item(replay)),
        ]
