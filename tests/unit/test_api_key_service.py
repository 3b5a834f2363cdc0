"""Server API keys: shown once, stored hashed, checked on every server call."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from referral_engine.services import api_keys as api_keys_module
from referral_engine.services.api_keys import ApiKeyService, key_hash
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
    api_key = service.create("backend")

    assert api_key.startswith("rk_")
    assert len(api_key) >= 40
    assert store.keys == {key_hash(api_key): "backend"}
    assert api_key not in store.keys
    assert all(api_key[3:] not in stored for stored in [*store.keys, *store.keys.values()])
    assert service.create("other") != api_key


def test_a_given_key_is_kept(service: ApiKeyService, store: InMemoryApiKeyStore) -> None:
    assert service.create("local", "rk_fixed-key") == "rk_fixed-key"
    assert service.authenticate("Bearer rk_fixed-key")


@pytest.mark.parametrize("header", ["Bearer {key}", "bearer {key}", "BEARER {key}", "Bearer  {key} "])
def test_a_bearer_header_with_the_key_authenticates(service: ApiKeyService, header: str) -> None:
    api_key = service.create("backend")
    assert service.authenticate(header.format(key=api_key))


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
    api_key = service.create("backend")
    assert not service.authenticate(None if header is None else header.format(key=api_key))


def test_a_valid_key_is_not_looked_up_again_within_the_cache_time(
    service: ApiKeyService, store: InMemoryApiKeyStore, clock: Clock
) -> None:
    # Given a key that authenticated once
    api_key = service.create("backend")
    assert service.authenticate(f"Bearer {api_key}")
    assert store.is_valid_calls == 1

    # When it is used again during the next minute
    for _ in range(5):
        clock.now += 10
        assert service.authenticate(f"Bearer {api_key}")

    # Then the store was not asked again
    assert store.is_valid_calls == 1


def test_after_the_cache_time_the_store_decides_again(
    service: ApiKeyService, store: InMemoryApiKeyStore, clock: Clock
) -> None:
    api_key = service.create("backend")
    assert service.authenticate(f"Bearer {api_key}")

    # a revoked key keeps working only until the cache entry runs out
    store.revoke(key_hash(api_key))
    clock.now += 59
    assert service.authenticate(f"Bearer {api_key}")
    clock.now += 2
    assert not service.authenticate(f"Bearer {api_key}")
    assert store.is_valid_calls == 2


def test_failures_are_not_cached(service: ApiKeyService, store: InMemoryApiKeyStore, clock: Clock) -> None:
    # a key created after a failed attempt works at once
    assert not service.authenticate("Bearer rk_later")
    service.create("later", "rk_later")
    assert service.authenticate("Bearer rk_later")
    assert store.is_valid_calls == 2


def test_malformed_headers_never_reach_the_store(service: ApiKeyService, store: InMemoryApiKeyStore) -> None:
    for header in (None, "", "Basic abc", "Bearer ", "Bearer " + "x" * 201):
        service.authenticate(header)
    assert store.is_valid_calls == 0
