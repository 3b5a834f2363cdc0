"""Test-wide setup: every test's tier from its directory, no real AWS credentials or network, and a
moto-backed stack per test that needs one."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from support.aws import AwsStack
    from support.logs import Logs

# Before anything creates a boto3 client: never touch a real account.
for _name, _value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    # botocore >= 1.44.4 addresses DynamoDB Streams by account id, which moto does not route.
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    "POWERTOOLS_SERVICE_NAME": "referral-engine-tests",
    "POWERTOOLS_METRICS_NAMESPACE": "ReferralEngineTests",
}.items():
    os.environ[_name] = _value
os.environ.pop("AWS_PROFILE", None)
os.environ.pop("AWS_ENDPOINT_URL", None)


@functools.cache
def _one_botocore_loader() -> None:
    """moto drops boto3's default session at each test's start, and every new session reads botocore's
    service models and endpoints from JSON again (most of a stack's setup). One loader for the process
    keeps what it read: the models are data, the same for every session."""
    from botocore import loaders, session

    shared = loaders.create_loader()
    session.create_loader = lambda search_path_string=None: shared


TESTS = Path(__file__).resolve().parent
# A tier is a directory under tests/ and the marker of the same name (declared in pyproject.toml).
TIERS = ("unit", "integration", "infrastructure", "cli", "e2e", "browser")
# pytest-timeout's default (pyproject.toml) suits every tier but e2e and browser, whose first test in
# a module also waits for the local stack to start.
E2E_TIMEOUT_S = 180


def tier_of(path: Path) -> str | None:
    """The tier whose directory holds this test file, if any."""
    resolved = path.resolve()
    parts = resolved.relative_to(TESTS).parts if resolved.is_relative_to(TESTS) else ()
    return parts[0] if len(parts) > 1 and parts[0] in TIERS else None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Marks each test with its directory's tier. A test outside every tier's directory, or marked
    with another tier than its directory's, fails the collection."""
    misplaced: list[str] = []
    for item in items:
        tier = tier_of(item.path)
        declared = {mark.name for mark in item.iter_markers() if mark.name in TIERS}
        if tier is None or declared - {tier}:
            misplaced.append(f"{item.nodeid} (directory tier: {tier}, tier markers: {sorted(declared)})")
            continue
        item.add_marker(tier)
        if tier in ("e2e", "browser"):
            item.add_marker(pytest.mark.timeout(E2E_TIMEOUT_S))
    if misplaced:
        raise pytest.UsageError(
            f"a test belongs to exactly one tier, the directory it is in (tests/{{{','.join(TIERS)}}}/):\n  "
            + "\n  ".join(misplaced)
        )


def _aws_stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsStack]:
    # Imported here so that the unit tier never loads boto3 or moto.
    from referral_engine import wiring
    from support.aws import API_KEY, BUS, FINGERPRINT_SECRET, TABLE, aws_stack

    _one_botocore_loader()
    monkeypatch.setenv("TABLE_NAME", TABLE)
    monkeypatch.setenv("EVENT_BUS_NAME", BUS)
    monkeypatch.setenv("FINGERPRINT_SECRET_ID", FINGERPRINT_SECRET)
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    with aws_stack() as resources:
        monkeypatch.setenv("EXCEPTIONS_QUEUE_URL", resources.exceptions_queue_url)
        wiring.api_keys().create("tests", API_KEY)
        yield resources


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsStack]:
    yield from _aws_stack(monkeypatch)


@pytest.fixture(scope="module")
def module_stack() -> Iterator[AwsStack]:
    """One stack for every test of a module, for suites that leave it as they found it or only add
    to it (the fuzz suites: a refused call writes nothing, an accepted one only adds)."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        yield from _aws_stack(monkeypatch)


@pytest.fixture
def logs() -> Iterator[Logs]:
    """The JSON lines the shared Powertools logger wrote since the test began."""
    from support.logs import captured_logs  # Powertools: only for the tests that read the logs

    with captured_logs() as lines:
        yield lines
