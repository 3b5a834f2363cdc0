"""Connections and the hook ids vendors call them by (the same HOOK# items as campaigns' hooks)."""

from __future__ import annotations

from typing import Any

from referral_engine.adapters.dynamodb import keys
from referral_engine.adapters.dynamodb.codec import Item, model_item, to_item, value
from referral_engine.adapters.dynamodb.table import Table
from referral_engine.domain.models import Connection
from referral_engine.domain.records import parse


class DynamoConnectionStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    def add(self, connection: Connection) -> None:
        hook = {
            **keys.hook(connection.hook_id),
            "entity": "hook",
            "campaign_id": connection.campaign_id,
            "connection_id": connection.id,
        }
        self._table.transact([self._table.put_op(self._item(connection)), self._table.put_op(to_item(hook))])

    def get(self, connection_id: str) -> Connection | None:
        # Consistent: a webhook must see the secret version a rotation has just written.
        item = self._table.get(keys.connection(connection_id), consistent=True)
        return parse(Connection, item) if item else None

    def by_hook(self, hook_id: str) -> Connection | None:
        hook = self._table.get(keys.hook(hook_id))  # written once, with the connection
        if hook is None or "connection_id" not in hook:
            return None
        return self.get(hook["connection_id"])

    def of_campaign(self, campaign_id: str) -> list[Connection]:
        items, _ = self._table.query(
            IndexName="gsi1",
            KeyConditionExpression="gsi1pk = :partition",
            ExpressionAttributeValues={":partition": value(keys.connections_of(campaign_id))},
        )
        return [parse(Connection, item) for item in items]

    def replace(self, connection: Connection, *, trusted_version: int | None) -> bool:
        if trusted_version is None:
            condition = "attribute_exists(pk) AND attribute_not_exists(secret_version)"
            values: dict[str, Any] = {}
        else:
            condition = "secret_version = :trusted"
            values = {":trusted": value(trusted_version)}
        return self._table.put_if(self._item(connection), condition, values)

    def remove(self, connection: Connection) -> None:
        self._table.transact(
            [
                self._table.delete_op(keys.connection(connection.id)),
                self._table.delete_op(keys.hook(connection.hook_id)),
            ]
        )

    @staticmethod
    def _item(connection: Connection) -> Item:
        return model_item(
            connection,
            "connection",
            **keys.connection(connection.id),
            gsi1pk=keys.connections_of(connection.campaign_id),
            gsi1sk=f"{keys.iso(connection.created_at)}#{connection.id}",
        )
