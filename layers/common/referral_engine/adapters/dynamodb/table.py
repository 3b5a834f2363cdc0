"""A thin wrapper over the low-level DynamoDB client: one table, conditional writes, transactions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from referral_engine.adapters.dynamodb.codec import Item, from_item, to_item
from referral_engine.adapters.dynamodb.keys import Key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

CONDITION_FAILED = "ConditionalCheckFailed"
BATCH_GET_ROUNDS = 4


class TransactionConflict(Exception):
    """Another transaction wrote the same items at the same moment (DynamoDB's `TransactionConflict`):
    nothing was written, and botocore does not retry it."""


class TransactionCancelled(Exception):
    """A transaction failed on a condition; `reasons[i]` is the code for item i ("None" if fine)."""

    def __init__(self, reasons: list[str], items: list[dict[str, Any] | None]) -> None:
        super().__init__(f"transaction cancelled: {reasons}")
        self.reasons = reasons
        self.items = items

    def failed(self, index: int) -> bool:
        return self.reasons[index] == CONDITION_FAILED


@dataclass(frozen=True)
class Table:
    client: DynamoDBClient
    name: str

    def get(self, key: Key, *, consistent: bool = False) -> dict[str, Any] | None:
        response = self.client.get_item(TableName=self.name, Key=to_item(key), ConsistentRead=consistent)
        item = response.get("Item")
        return from_item(item) if item else None

    def get_many(self, keys: Sequence[Key], *, attributes: str) -> list[dict[str, Any]]:
        """The items of up to 100 keys that exist (eventually consistent), each with `attributes`
        only; what DynamoDB leaves unprocessed (throttling) is asked for again, a few times at most."""
        pending: dict[str, Any] = {
            self.name: {"Keys": [to_item(key) for key in keys], "ProjectionExpression": attributes}
        }
        found: list[dict[str, Any]] = []
        for _ in range(BATCH_GET_ROUNDS):
            response = self.client.batch_get_item(RequestItems=pending)
            found += [from_item(item) for item in response.get("Responses", {}).get(self.name, [])]
            pending = dict(response.get("UnprocessedKeys") or {})
            if not pending:
                return found
        raise RuntimeError(f"DynamoDB left {len(pending[self.name]['Keys'])} keys unread")

    def put_new(self, item: Item) -> bool:
        """Puts an item whose key must not exist yet; False if it already did."""
        return self.put_if(item, "attribute_not_exists(pk)")

    def put_if(self, item: Item, condition: str, values: dict[str, Any] | None = None) -> bool:
        """Puts the item if `condition` holds on the stored one; False (nothing written) if not."""
        extra: dict[str, Any] = {"ExpressionAttributeValues": values} if values else {}
        try:
            self.client.put_item(TableName=self.name, Item=item, ConditionExpression=condition, **extra)
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def put(self, item: Item) -> None:
        self.client.put_item(TableName=self.name, Item=item)

    def transact(self, operations: Sequence[TransactWriteItemTypeDef]) -> None:
        """Runs a write transaction; raises TransactionCancelled when a condition failed.

        Other cancellations (conflicts, throttling) propagate as ClientError: they are transient.
        """
        try:
            self.client.transact_write_items(TransactItems=list(operations))
        except ClientError as error:
            if error.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            reasons = error.response.get("CancellationReasons", [])
            codes = [reason.get("Code", "None") for reason in reasons]
            if "TransactionConflict" in codes and CONDITION_FAILED not in codes:
                raise TransactionConflict(codes) from error
            if CONDITION_FAILED not in codes or any(code not in (CONDITION_FAILED, "None") for code in codes):
                raise
            items = [from_item(reason["Item"]) if "Item" in reason else None for reason in reasons]
            raise TransactionCancelled(codes, items) from error

    def delete_op(self, key: Key) -> TransactWriteItemTypeDef:
        return {"Delete": {"TableName": self.name, "Key": to_item(key)}}

    def put_op(self, item: Item, *, new: bool = True) -> TransactWriteItemTypeDef:
        put: dict[str, Any] = {"TableName": self.name, "Item": item}
        if new:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        return {"Put": put}  # type: ignore[typeddict-item]

    def query(self, **kwargs: Any) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        response = self.client.query(TableName=self.name, **kwargs)
        last = response.get("LastEvaluatedKey")
        return [from_item(item) for item in response.get("Items", [])], (from_item(last) if last else None)
