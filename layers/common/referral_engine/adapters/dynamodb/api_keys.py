"""API keys, stored by their SHA-256 hash only, with a pointer from each key's id to its hash."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from botocore.exceptions import ClientError

from referral_engine.adapters.dynamodb import keys
from referral_engine.adapters.dynamodb.codec import from_item, to_item, value
from referral_engine.adapters.dynamodb.pages import newest_first
from referral_engine.adapters.dynamodb.table import Table
from referral_engine.ports import ApiKey, ApiKeyPage, ApiKeyScope

_LEGACY_ID = "key_legacy"  # keys stored before keys had ids and scopes: server keys


def _key(item: dict[str, Any]) -> ApiKey:
    created = datetime.fromisoformat(str(item["created_at"]))
    revoked = item.get("revoked_at")
    return ApiKey(
        id=str(item.get("id", _LEGACY_ID)),
        name=str(item.get("name", "")),
        scope=cast(ApiKeyScope, item.get("scope", "server")),
        created_at=created,
        revoked_at=datetime.fromisoformat(str(revoked))
        if revoked
        else (created if item.get("revoked") else None),
    )


class DynamoApiKeyStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    def add(self, key_hash: str, key: ApiKey) -> None:
        item = {
            **keys.api_key(key_hash),
            **keys.api_key_index(key.id, key.created_at),
            "entity": "api_key",
            "id": key.id,
            "name": key.name,
            "scope": key.scope,
            "created_at": key.created_at,
        }
        pointer = {**keys.api_key_id(key.id), "entity": "api_key_id", "key_hash": key_hash}
        self._table.transact([self._table.put_op(to_item(item)), self._table.put_op(to_item(pointer))])

    def by_hash(self, key_hash: str) -> ApiKey | None:
        item = self._table.get(keys.api_key(key_hash), consistent=True)
        return _key(item) if item else None

    def revoke(self, key_id: str, at: datetime) -> ApiKey | None:
        pointer = self._table.get(keys.api_key_id(key_id), consistent=True)
        if pointer is None:
            return None
        try:
            updated = self._table.client.update_item(
                TableName=self._table.name,
                Key=to_item(keys.api_key(str(pointer["key_hash"]))),
                UpdateExpression="SET revoked_at = if_not_exists(revoked_at, :at)",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":at": value(at)},
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return None
            raise
        return _key(from_item(updated["Attributes"]))

    def page(self, *, limit: int, cursor: str | None) -> ApiKeyPage:
        items, next_cursor = newest_first(self._table, keys.API_KEYS, limit=limit, cursor=cursor)
        return ApiKeyPage([_key(item) for item in items], next_cursor)
