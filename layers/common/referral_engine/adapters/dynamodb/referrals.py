"""Referrals, their rewards and audit trail (one item collection per referral), and state transitions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from referral_engine.adapters.dynamodb import cursor as cursors
from referral_engine.adapters.dynamodb import keys
from referral_engine.adapters.dynamodb.codec import model_item, to_item, value
from referral_engine.adapters.dynamodb.participants import claim_ops, raise_claim_failure
from referral_engine.adapters.dynamodb.table import Table, TransactionCancelled
from referral_engine.domain.models import (
    AuditEntry,
    Participant,
    Referral,
    ReferralStatus,
    Reward,
    utcnow,
)
from referral_engine.ports import (
    ExternalIdClaimed,
    ReferralHistory,
    ReferralPage,
    ReferralSort,
    TransitionResult,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

_INDEX = {"joined_at": ("gsi1", "gsi1pk", "gsi1sk"), "qualified_at": ("gsi2", "gsi2pk", "gsi2sk")}


def external_id(source: str, vendor_id: str) -> str:
    return f"{source}:{vendor_id}"


class DynamoReferralStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    def add(self, referral: Referral, referred: Participant, audit: AuditEntry) -> None:
        table = self._table
        referral_item = model_item(
            referral,
            "referral",
            **keys.referral(referral.id),
            **keys.referral_indexes(referral.campaign_id, referral.id, referral.joined_at, None),
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
        return Referral.model_validate(item) if item else None

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
            referral=Referral.model_validate(referral),
            rewards=[Reward.model_validate(item) for item in items if item["sk"].startswith("REWARD#")],
            audit=[AuditEntry.model_validate(item) for item in items if item["sk"].startswith("AUDIT#")],
        )

    def by_external_id(self, campaign_id: str, external_id: str) -> Referral | None:
        claim = self._table.get(keys.external_id_claim(campaign_id, external_id), consistent=True)
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
        return ReferralPage(
            items=[Referral.model_validate(item) for item in items], next_cursor=cursors.encode(last)
        )

    def mark_qualified(self, referral: Referral, signal_key: str, audit: AuditEntry) -> TransitionResult:
        qualified_at = audit.at
        indexes = keys.referral_indexes(referral.campaign_id, referral.id, referral.joined_at, qualified_at)
        return self._transition(
            referral,
            ReferralStatus.QUALIFIED,
            {
                "qualified_at": qualified_at,
                "qualified_by": signal_key,
                "gsi2pk": indexes["gsi2pk"],
                "gsi2sk": indexes["gsi2sk"],
            },
            audit,
            [],
            updated=referral.model_copy(
                update={
                    "status": ReferralStatus.QUALIFIED,
                    "qualified_at": qualified_at,
                    "qualified_by": signal_key,
                }
            ),
        )

    def record_rewards(
        self, referral: Referral, rewards: list[Reward], audit: AuditEntry
    ) -> TransitionResult:
        operations: list[TransactWriteItemTypeDef] = []
        for reward in rewards:
            item = model_item(
                reward,
                "reward",
                **keys.reward(reward.referral_id, reward.recipient),
                gsi1pk=keys.rewards_of(reward.recipient_code),
                gsi1sk=f"{keys.iso(reward.created_at)}#{reward.id}",
            )
            operations.append(self._table.put_op(item))
            operations.append(
                self._update(
                    keys.participant(reward.recipient_code),
                    "ADD credit_balance :amount, rewards :one",
                    {":amount": reward.amount, ":one": 1},
                    condition="attribute_exists(pk)",
                )
            )
        rewarded_at = audit.at
        return self._transition(
            referral,
            ReferralStatus.REWARDED,
            {"rewarded_at": rewarded_at},
            audit,
            operations,
            updated=referral.model_copy(
                update={"status": ReferralStatus.REWARDED, "rewarded_at": rewarded_at}
            ),
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
    ) -> TransitionResult:
        """One conditional write moves the status; the audit entry and `extra` land with it or not at all."""
        expected = referral.status
        assignments = {"status": target, "updated_at": utcnow(), **fields}
        names = {f"#f{i}": name for i, name in enumerate(assignments)}
        values = {f":v{i}": field_value for i, field_value in enumerate(assignments.values())}
        expression = "SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(assignments)))
        update = self._update(
            keys.referral(referral.id),
            expression,
            {**values, ":expected": expected},
            condition="#status = :expected",
            names={**names, "#status": "status"},
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
        update: dict[str, Any] = {
            "TableName": self._table.name,
            "Key": to_item(key),
            "UpdateExpression": expression,
            "ConditionExpression": condition,
            "ExpressionAttributeValues": to_item(values),
        }
        if names:
            update["ExpressionAttributeNames"] = names
        return {"Update": update}  # type: ignore[typeddict-item]

    @staticmethod
    def _audit_item(entry: AuditEntry) -> dict[str, Any]:
        return model_item(entry, "audit", **keys.audit(entry.referral_id, entry.at, entry.action))
