"""Test-wide setup: no real AWS credentials or network, and a moto-backed stack per test that needs one."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from support.aws import AwsStack

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


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsStack]:
    # Imported here so that the unit tier never loads boto3 or moto.
    from referral_engine import wiring
    from support.aws import API_KEY, BUS, TABLE, aws_stack

    monkeypatch.setenv("TABLE_NAME", TABLE)
    monkeypatch.setenv("EVENT_BUS_NAME", BUS)
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    with aws_stack() as resources:
        monkeypatch.setenv("EXCEPTIONS_QUEUE_URL", resources.exceptions_queue_url)
        wiring.api_keys().create("tests", API_KEY)
        yield resources
