"""The admin log: one `admin_action` item per redrive or discard, listed newest first through gsi1."""

from __future__ import annotations

from referral_engine.adapters.dynamodb import cursor as cursors
from referral_engine.adapters.dynamodb import keys
from referral_engine.adapters.dynamodb.codec import to_item, value
from referral_engine.adapters.dynamodb.table import Table
from referral_engine.ports import AdminAction, AdminLogPage

_HIDDEN = {"gsi1pk", "gsi1sk", "entity"}


class DynamoAdminLog:
    def __init__(self, table: Table) -> None:
        self._table = table

    def record(self, action: AdminAction) -> dict[str, str]:
        key = keys.admin_log(action.at, action.message_id)
        self._table.put(
            to_item(
                {
                    **key,
                    **keys.admin_log_index(action.at, action.message_id),
                    "entity": "admin_action",
                    "action": action.action,
                    "queue": action.queue,
                    "message_id": action.message_id,
                    "reason": action.reason,
                    "body": action.body,
                    "operator": action.operator,
                    "at": action.at,
                    **action.detail,
                }
            )
        )
        return key

    def page(self, *, limit: int, cursor: str | None) -> AdminLogPage:
        query: dict[str, object] = {
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :partition",
            "ExpressionAttributeValues": {":partition": value(keys.ADMIN_LOG)},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if cursor:
            start = cursors.decode(
                cursor, expected={"gsi1pk": keys.ADMIN_LOG}, key_names={"pk", "sk", "gsi1pk", "gsi1sk"}
            )
            query["ExclusiveStartKey"] = to_item(start)
        items, last = self._table.query(**query)
        return AdminLogPage(
            items=[{name: item[name] for name in item if name not in _HIDDEN} for item in items],
            next_cursor=cursors.encode(last),
        )
