"""API keys: shown once, stored hashed, scoped, checked on every call, revocable within seconds."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from referral_engine.domain.errors import NotFound
from referral_engine.services import api_keys as api_keys_module
from referral_engine.services.api_keys import CACHE_SECONDS, ApiKeyService, grants, key_hash
from support.admin_fakes import InMemoryAdminLog
from support.fakes import InMemoryApiKeyStore


@pytest.fixture
def store() -> InMemoryApiKeyStore:
    return InMemoryApiKeyStore()


@pytest.fixture
def service(store: InMemoryApiKeyStore) -> ApiKeyService:
    return ApiKeyService(store)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(api_keys_module, "time", SimpleNamespace(monotonic=clock.monotonic))
    return clock


def test_a_new_key_is_returned_once_and_only_its_hash_is_stored(
    service: ApiKeyService, store: InMemoryApiKeyStore
) -> None:
    issued = service.create("backend")
    api_key = issued.secret

    assert api_key.startswith("rk_")
    assert len(api_key) >= 40
    assert list(store.keys) == [key_hash(api_key)]
    assert (issued.key.name, issued.key.scope, issued.key.revoked_at) == ("backend", "server", None)
    assert issued.key.id.startswith("key_")
    assert api_key[3:] not in repr(store.keys)
    assert service.create("other").secret != api_key


def test_a_given_key_is_kept_with_its_scope(service: ApiKeyService) -> None:
    assert service.create("local", "rk_fixed-key", scope="admin").secret == "rk_fixed-key"
    key = service.authenticate("Bearer rk_fixed-key")
    assert key is not None
    assert key.scope == "admin"


@pytest.mark.parametrize("header", ["Bearer {key}", "bearer {key}", "BEARER {key}", "Bearer  {key} "])
def test_a_bearer_header_with_the_key_authenticates(service: ApiKeyService, header: str) -> None:
    api_key = service.create("backend").secret
    assert service.authenticate(header.format(key=api_key)) is not None


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Bearer rk_wrong",
        "Basic {key}",
        "{key}",
        "Token {key}",
        "Bearer {key}x",
        "Bearer " + "x" * 201,
    ],
)
def test_anything_else_does_not(service: ApiKeyService, header: str | None) -> None:
    api_key = service.create("backend").secret
    assert service.authenticate(None if header is None else header.format(key=api_key)) is None


@pytest.mark.parametrize(
    ("scope", "server", "admin", "publishable"),
    [("server", True, False, False), ("admin", True, True, False), ("publishable", False, False, True)],
)
def test_what_each_scope_grants(
    service: ApiKeyService, scope: str, server: bool, admin: bool, publishable: bool
) -> None:
    key = service.create("k", scope=scope).key  # type: ignore[arg-type]
    assert (grants(key, "server"), grants(key, "admin"), grants(key, "publishable")) == (
        server,
        admin,
        publishable,
    )


def test_a_valid_key_is_not_looked_up_again_within_the_cache_time(
    service: ApiKeyService, store: InMemoryApiKeyStore, clock: Clock
) -> None:
    api_key = service.create("backend").secret
    assert service.authenticate(f"Bearer {api_key}")
    assert store.lookups == 1

    for _ in range(4):
        clock.now += 1
        assert service.authenticate(f"Bearer {api_key}")

    assert store.lookups == 1


def test_a_key_revoked_elsewhere_is_refused_within_seconds(
    store: InMemoryApiKeyStore, service: ApiKeyService, clock: Clock
) -> None:
    # Given a key one warm container has checked
    api_key = service.create("backend").secret
    assert service.authenticate(f"Bearer {api_key}")

    # When another container revokes it
    ApiKeyService(store).revoke(store.keys[key_hash(api_key)].id)

    # Then it keeps working here for a few seconds at most
    clock.now += CACHE_SECONDS - 0.5
    assert service.authenticate(f"Bearer {api_key}")
    clock.now += 1
    assert service.authenticate(f"Bearer {api_key}") is None
    assert CACHE_SECONDS <= 5


def test_a_key_revoked_through_this_service_is_refused_at_once(
    service: ApiKeyService, store: InMemoryApiKeyStore
) -> None:
    issued = service.create("backend")
    assert service.authenticate(f"Bearer {issued.secret}")

    revoked = service.revoke(issued.key.id)

    assert revoked.revoked_at is not None
    assert service.authenticate(f"Bearer {issued.secret}") is None
    assert service.revoke(issued.key.id).revoked_at == revoked.revoked_at  # revoking again changes nothing


def test_creations_and_revocations_by_an_operator_are_in_the_admin_log(store: InMemoryApiKeyStore) -> None:
    log = InMemoryAdminLog()
    service = ApiKeyService(store, log)
    service.create("local", "rk_setup")  # the stack's own setup: nobody to name
    issued = service.create("billing", operator="arn:aws:iam::123456789012:user/ada")

    service.revoke(issued.key.id, operator="arn:aws:iam::123456789012:user/ada")

    assert [(a.action, a.message_id, a.operator, a.detail["scope"]) for a in log.actions] == [
        ("api_key.create", issued.key.id, "arn:aws:iam::123456789012:user/ada", "server"),
        ("api_key.revoke", issued.key.id, "arn:aws:iam::123456789012:user/ada", "server"),
    ]
    assert issued.secret not in repr(log.actions)


def test_revoking_an_unknown_key_is_not_found(service: ApiKeyService) -> None:
    with pytest.raises(NotFound):
        service.revoke("key_nope")


def test_failures_are_not_cached(service: ApiKeyService, store: InMemoryApiKeyStore) -> None:
    assert service.authenticate("Bearer rk_later") is None
    service.create("later", "rk_later")
    assert service.authenticate("Bearer rk_later")
    assert store.lookups == 2


def test_malformed_headers_never_reach_the_store(service: ApiKeyService, store: InMemoryApiKeyStore) -> None:
    for header in (None, "", "Basic abc", "Bearer ", "Bearer " + "x" * 201):
        service.authenticate(header)
    assert store.lookups == 0


def test_keys_are_listed_newest_first_without_secrets(service: ApiKeyService) -> None:
    first = service.create("first")
    second = service.create("second", scope="admin")

    page = service.page(limit=1)
    rest = service.page(limit=1, cursor=page.next_cursor)

    assert [key.id for key in page.items + rest.items] == [second.key.id, first.key.id]
    assert rest.next_cursor is None
