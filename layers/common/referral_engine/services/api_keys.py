"""Server API keys: shown once at creation, stored only as a SHA-256 hash."""

from __future__ import annotations

import time

from referral_engine.domain.identifiers import new_secret_token, sha256_hex
from referral_engine.ports import ApiKeyStore

KEY_PREFIX = "rk_"
_CACHE_SECONDS = 60.0


def key_hash(api_key: str) -> str:
    return sha256_hex(api_key)


class ApiKeyService:
    def __init__(self, store: ApiKeyStore) -> None:
        self._store = store
        self._valid_until: dict[str, float] = {}

    def create(self, name: str, api_key: str | None = None) -> str:
        api_key = api_key or KEY_PREFIX + new_secret_token(32)
        self._store.add(key_hash(api_key), name)
        return api_key

    def authenticate(self, authorization: str | None) -> bool:
        """True for `Bearer <key>` with a stored key. Valid keys are cached briefly per warm container."""
        scheme, _, api_key = (authorization or "").partition(" ")
        api_key = api_key.strip()
        if scheme.lower() != "bearer" or not api_key or len(api_key) > 200:
            return False
        digest = key_hash(api_key)
        now = time.monotonic()
        if self._valid_until.get(digest, 0.0) > now:
            return True
        if not self._store.is_valid(digest):
            return False
        self._valid_until[digest] = now + _CACHE_SECONDS
        return True
