"""API keys: shown once at creation, stored only as a SHA-256 hash, each with a scope.

- `server`: the business routes (`/v1/...`).
- `admin`: the admin routes (`/v1/admin/...`) and the server routes too. An admin operates the whole
  engine (a console needs both), while a business server gets the narrower `server` key.
- `publishable`: browser-safe, for the snippet's routes (a later issue); no route accepts it yet.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Annotated, Literal

import msgspec

from referral_engine.domain.errors import InvalidRequest, NotFound
from referral_engine.domain.identifiers import new_id, new_secret_token, sha256_hex
from referral_engine.domain.models import utcnow
from referral_engine.domain.records import Record
from referral_engine.domain.stripped_text import strip, text_schema
from referral_engine.ports import AdminAction, AdminLog, ApiKey, ApiKeyPage, ApiKeyScope, ApiKeyStore

KEY_PREFIX = "rk_"
# How long a warm container trusts a key it has checked: a revocation reaches every container within it.
CACHE_SECONDS = 5.0
NAME_MAX = 100
SCOPES: tuple[ApiKeyScope, ...] = ("server", "admin", "publishable")
_GRANTS: dict[ApiKeyScope, frozenset[ApiKeyScope]] = {
    "server": frozenset({"server"}),
    "admin": frozenset({"admin", "server"}),
    "publishable": frozenset({"publishable"}),
}


def key_hash(api_key: str) -> str:
    return sha256_hex(api_key)


def grants(key: ApiKey, scope: ApiKeyScope) -> bool:
    """Whether a key of its scope may call the routes that need `scope`."""
    return scope in _GRANTS[key.scope]


class NewKeyRequest(Record, forbid_unknown_fields=True):
    """A key to create (the body of `POST /v1/admin/api-keys`)."""

    name: Annotated[str, text_schema(1, NAME_MAX, title="Name")]
    scope: Annotated[
        ApiKeyScope,
        msgspec.Meta(
            title="Scope",
            description="server, admin (also the server routes) or publishable.",
            extra_json_schema={"type": "string"},
        ),
    ] = "server"

    def __post_init__(self) -> None:
        strip(self, "name", 1, NAME_MAX)


@dataclass(frozen=True)
class IssuedApiKey:
    key: ApiKey
    secret: str  # the key itself: shown in this one answer, never stored


class ApiKeyService:
    def __init__(self, store: ApiKeyStore, log: AdminLog | None = None) -> None:
        """`log`: where creations and revocations are recorded with who did them (the admin log)."""
        self._store = store
        self._log = log
        self._trusted: dict[str, tuple[ApiKey, float]] = {}  # key hash → (key, trusted until)

    def create(
        self,
        name: str,
        api_key: str | None = None,
        *,
        scope: ApiKeyScope = "server",
        operator: str | None = None,
    ) -> IssuedApiKey:
        """`operator`: who creates it, for the admin log (None: the stack's own setup, not logged)."""
        request = NewKeyRequest(name=name, scope=scope)
        secret = api_key or KEY_PREFIX + new_secret_token(32)
        key = ApiKey(id=new_id("key"), name=request.name, scope=request.scope, created_at=utcnow())
        self._store.add(key_hash(secret), key)
        self._record("api_key.create", key, operator)
        return IssuedApiKey(key, secret)

    def authenticate(self, authorization: str | None) -> ApiKey | None:
        """The unrevoked key of a `Bearer <key>` header, or None. Checked keys are trusted for
        CACHE_SECONDS per warm container; a revocation through this service applies here at once."""
        scheme, _, api_key = (authorization or "").partition(" ")
        api_key = api_key.strip()
        if scheme.lower() != "bearer" or not api_key or len(api_key) > 200 or not api_key.isascii():
            return None
        digest = key_hash(api_key)
        now = time.monotonic()
        trusted = self._trusted.get(digest)
        if trusted is not None and trusted[1] > now:
            return trusted[0]
        key = self._store.by_hash(digest)
        if key is None or key.revoked_at is not None:
            self._trusted.pop(digest, None)
            return None
        self._trusted[digest] = (key, now + CACHE_SECONDS)
        return key

    def revoke(self, key_id: str, *, operator: str | None = None) -> ApiKey:
        key = self._store.revoke(key_id, utcnow())
        if key is None:
            raise NotFound(f"no API key {key_id!r}")
        self._trusted = {digest: entry for digest, entry in self._trusted.items() if entry[0].id != key_id}
        self._record("api_key.revoke", key, operator)
        return key

    def _record(
        self, action: Literal["api_key.create", "api_key.revoke"], key: ApiKey, operator: str | None
    ) -> None:
        if self._log is None or operator is None:
            return
        detail = {"key_id": key.id, "name": key.name, "scope": key.scope}
        self._log.record(AdminAction(action, None, key.id, "", operator, utcnow(), detail=detail))

    def page(self, *, limit: int = 50, cursor: str | None = None) -> ApiKeyPage:
        try:
            return self._store.page(limit=limit, cursor=cursor)
        except ValueError as error:
            raise InvalidRequest("the cursor is not valid") from error
