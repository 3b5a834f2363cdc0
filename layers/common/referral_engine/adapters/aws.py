"""AWS clients, created once per container from one botocore session. boto3 is not imported: its
package pulls in s3transfer, which no function needs (20-30 ms of every cold start). Region and
endpoint come from the standard AWS environment (AWS_REGION, AWS_ENDPOINT_URL), which is how the
local stack points them at moto."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from botocore.session import Session, get_session

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_ssm import SSMClient


@cache
def session() -> Session:
    """One session for every client: get_session() builds a new one (and reloads its data) per call."""
    return get_session()


@cache
def client(service: str) -> Any:
    """The container's client for `service` (the composition root's default client factory)."""
    return session().create_client(service)


def dynamodb() -> DynamoDBClient:
    made: DynamoDBClient = client("dynamodb")
    return made


@cache
def without_retries(service: str) -> Any:
    """The click path's clients: a call that fails is not tried again after botocore's backoff, which
    would hold the redirect (a throttled count is tried at once on another shard instead,
    adapters/dynamodb/clicks.py)."""
    from botocore.config import Config

    return session().create_client(service, config=Config(retries={"total_max_attempts": 1}))


def dynamodb_without_retries() -> DynamoDBClient:
    made: DynamoDBClient = without_retries("dynamodb")
    return made


@cache
def answering_client(service: str) -> Any:
    """For a write a caller waits on with its own timeout (a vendor's webhook call: Pipedrive gives 10 s):
    botocore's retries bounded to about 1.5 s (6 attempts, 50 ms doubling) instead of DynamoDB's 10
    attempts over up to 25 s, so the function answers (5xx to a vendor that redelivers, the signal parked
    for one that does not) before the caller gives up and the call is lost."""
    from botocore.config import Config

    return session().create_client(
        service, config=Config(retries={"mode": "legacy", "total_max_attempts": 6})
    )


def events() -> EventBridgeClient:
    made: EventBridgeClient = client("events")
    return made


def sqs() -> SQSClient:
    made: SQSClient = client("sqs")
    return made


def ssm() -> SSMClient:
    made: SSMClient = client("ssm")
    return made
