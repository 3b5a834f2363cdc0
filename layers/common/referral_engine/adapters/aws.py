"""boto3 clients, created once per container. Region and endpoint come from the standard AWS
environment (AWS_REGION, AWS_ENDPOINT_URL), which is how the local stack points them at moto."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

import boto3

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_ssm import SSMClient


@cache
def client(service: str) -> Any:
    """The container's client for `service` (the composition root's default client factory)."""
    return boto3.client(service)  # type: ignore[call-overload]


def dynamodb() -> DynamoDBClient:
    made: DynamoDBClient = client("dynamodb")
    return made


def events() -> EventBridgeClient:
    made: EventBridgeClient = client("events")
    return made


def sqs() -> SQSClient:
    made: SQSClient = client("sqs")
    return made


def ssm() -> SSMClient:
    made: SSMClient = client("ssm")
    return made
