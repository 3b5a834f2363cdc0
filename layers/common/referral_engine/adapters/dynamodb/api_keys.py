"""Server API keys, stored by their SHA-256 hash only."""

from __future__ import annotations

from referral_engine.adapters.dynamodb import keys
from referral_engine.adapters.dynamodb.codec import to_item
from referral_engine.adapters.dynamodb.table import Table
from referral_engine.domain.models import utcnow


class DynamoApiKeyStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    def is_valid(self, key_hash: str) -> bool:
        item = self._table.get(keys.api_key(key_hash))
        return item is not None and not item.get("revoked", False)

    def add(self, key_hash: str, name: str) -> None:
        self._table.put(
            to_item({**keys.api_key(key_hash), "entity": "api_key", "name": name, "created_at": utcnow()})
        )
