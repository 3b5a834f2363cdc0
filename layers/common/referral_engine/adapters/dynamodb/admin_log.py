"""The admin log: one `admin_action` item per redrive or discard, listed newest first through gsi1."""

from __future__ import annotations

from referral_engine.adapters.dynamodb import keys
from referral_engine.adapters.dynamodb.codec import to_item
from referral_engine.adapters.dynamodb.pages import newest_first
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
        items, next_cursor = newest_first(self._table, keys.ADMIN_LOG, limit=limit, cursor=cursor)
        return AdminLogPage(
            [{name: item[name] for name in item if name not in _HIDDEN} for item in items], next_cursor
        )
