"""Rewards in their referral's item collection, the release index (gsi2, sparse) and the participants'
balances (docs/adr/0020).

A reward waiting for the schedule (`pending`, or `released` and not yet handed over) is on gsi2 under
`RELEASES`, sorted by release time; the move that takes it further removes it from there. A credit
moves the recipient's `credit_balance` in the same transaction as the reward's status.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from referral_engine.adapters.dynamodb import keys
from referral_engine.adapters.dynamodb.codec import model_item, to_item, value
from referral_engine.adapters.dynamodb.table import Table, TransactionCancelled
from referral_engine.domain.models import AuditEntry, ReferralStatus, Reward, RewardStatus, utcnow
from referral_engine.domain.records import parse
from referral_engine.domain.rewards import ON_RELEASE_INDEX
from referral_engine.domain.states import REWARDS
from referral_engine.ports import RewardWrite

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

RECIPIENTS = ("advocate", "friend")
_PAGE = 100
_DATES = ("released_at", "fulfilled_at", "cancelled_at", "clawed_back_at")


def update_op(
    table: Table,
    key: dict[str, str],
    expression: str,
    values: dict[str, Any],
    *,
    condition: str,
    names: dict[str, str] | None = None,
) -> TransactWriteItemTypeDef:
    update: dict[str, Any] = {
        "TableName": table.name,
        "Key": to_item(key),
        "UpdateExpression": expression,
        "ConditionExpression": condition,
        "ExpressionAttributeValues": to_item(values),
    }
    if names:
        update["ExpressionAttributeNames"] = names
    return {"Update": update}  # type: ignore[typeddict-item]


def reward_item(reward: Reward) -> dict[str, Any]:
    indexes = {
        "gsi1pk": keys.rewards_of(reward.recipient_code),
        "gsi1sk": f"{keys.iso(reward.created_at)}#{reward.id}",
    }
    if reward.status in ON_RELEASE_INDEX and reward.release_at is not None:
        indexes |= keys.release_index(reward.release_at, reward.id)
    return model_item(reward, "reward", **keys.reward(reward.referral_id, reward.recipient), **indexes)


def issue_ops(table: Table, rewards: list[Reward]) -> list[TransactWriteItemTypeDef]:
    """New rewards: each put once, counted on its recipient, and credited when fulfilled at once."""
    operations: list[TransactWriteItemTypeDef] = []
    for reward in rewards:
        REWARDS.require_entry(reward.status)
        operations.append(table.put_op(reward_item(reward)))
        credited = reward.status is RewardStatus.FULFILLED
        operations.append(
            update_op(
                table,
                keys.participant(reward.recipient_code),
                "ADD credit_balance :amount, rewards :one" if credited else "ADD rewards :one",
                {":amount": reward.amount, ":one": 1} if credited else {":one": 1},
                condition="attribute_exists(pk)",
            )
        )
    return operations


def audit_op(table: Table, entry: AuditEntry) -> TransactWriteItemTypeDef:
    item = model_item(entry, "audit", **keys.audit(entry.referral_id, entry.at, entry.action))
    return table.put_op(item, new=False)


class DynamoRewardLedger:
    def __init__(self, table: Table) -> None:
        self._table = table

    def due(self, now: datetime, *, limit: int) -> list[Reward]:
        query: dict[str, Any] = {
            "IndexName": "gsi2",
            "KeyConditionExpression": "gsi2pk = :releases AND gsi2sk <= :now",
            "ExpressionAttributeValues": {
                ":releases": value(keys.RELEASES),
                ":now": value(keys.released_by(now)),
            },
        }
        rewards: list[Reward] = []
        while len(rewards) < limit:
            items, last = self._table.query(**query, Limit=min(_PAGE, limit - len(rewards)))
            rewards += [parse(Reward, item) for item in items]
            if last is None:
                break
            query["ExclusiveStartKey"] = to_item(last)
        return rewards

    def of_referral(self, referral_id: str) -> list[Reward]:
        found = (self._table.get(keys.reward(referral_id, r), consistent=True) for r in RECIPIENTS)
        return [parse(Reward, item) for item in found if item]

    def _current(self, reward: Reward) -> Reward | None:
        item = self._table.get(keys.reward(reward.referral_id, reward.recipient), consistent=True)
        return parse(Reward, item) if item else None

    def move(
        self,
        reward: Reward,
        moved: Reward,
        audit: AuditEntry,
        *,
        credit: Decimal | None = None,
        unless_reversed: bool = False,
    ) -> RewardWrite:
        REWARDS.require(reward.status, moved.status)
        assignments: dict[str, Any] = {"status": moved.status, "updated_at": utcnow()}
        assignments |= {date: getattr(moved, date) for date in _DATES if getattr(moved, date) is not None}
        names = {f"#f{i}": name for i, name in enumerate(assignments)}
        values = {f":v{i}": field for i, field in enumerate(assignments.values())}
        expression = "SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(assignments)))
        if moved.status not in ON_RELEASE_INDEX:
            expression += " REMOVE gsi2pk, gsi2sk"
        operations = [
            update_op(
                self._table,
                keys.reward(reward.referral_id, reward.recipient),
                expression,
                {**values, ":expected": reward.status},
                condition="#status = :expected",
                names={**names, "#status": "status"},
            ),
            audit_op(self._table, audit),
        ]
        if credit is not None:
            operations.append(
                update_op(
                    self._table,
                    keys.participant(reward.recipient_code),
                    "ADD credit_balance :amount",
                    {":amount": credit},
                    condition="attribute_exists(pk)",
                )
            )
        if unless_reversed:
            operations.append(self._not_reversed(reward.referral_id))
        try:
            self._table.transact(operations)
        except TransactionCancelled as cancelled:
            if cancelled.failed(0):
                return RewardWrite(applied=False, current=self._current(reward))
            if unless_reversed and cancelled.failed(len(operations) - 1):
                return RewardWrite(applied=False, current=reward, referral_reversed=True)
            raise
        return RewardWrite(applied=True, current=moved)

    def _not_reversed(self, referral_id: str) -> TransactWriteItemTypeDef:
        check: dict[str, Any] = {
            "TableName": self._table.name,
            "Key": to_item(keys.referral(referral_id)),
            "ConditionExpression": "#status <> :reversed",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": to_item({":reversed": ReferralStatus.REVERSED}),
        }
        return {"ConditionCheck": check}  # type: ignore[typeddict-item]
