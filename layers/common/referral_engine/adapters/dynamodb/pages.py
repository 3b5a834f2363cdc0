"""One page of a gsi1 partition, newest first, with an opaque cursor to the next."""

from __future__ import annotations

from typing import Any

from referral_engine.adapters.dynamodb import cursor as cursors
from referral_engine.adapters.dynamodb.codec import to_item, value
from referral_engine.adapters.dynamodb.table import Table


def newest_first(
    table: Table, partition: str, *, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """Raises ValueError for a cursor this listing did not issue."""
    query: dict[str, object] = {
        "IndexName": "gsi1",
        "KeyConditionExpression": "gsi1pk = :partition",
        "ExpressionAttributeValues": {":partition": value(partition)},
        "ScanIndexForward": False,
        "Limit": limit,
    }
    if cursor:
        start = cursors.decode(
            cursor, expected={"gsi1pk": partition}, key_names={"pk", "sk", "gsi1pk", "gsi1sk"}
        )
        query["ExclusiveStartKey"] = to_item(start)
    items, last = table.query(**query)
    return items, cursors.encode(last)
