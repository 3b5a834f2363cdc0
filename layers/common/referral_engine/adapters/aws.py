"""boto3 clients, created once per container. Region and endpoint come from the standard AWS
environment (AWS_REGION, AWS_ENDPOINT_URL), which is how the local stack points them at moto."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

import boto3

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_ssm import SSMClient


@cache
def dynamodb() -> DynamoDBClient:
    return boto3.client("dynamodb")


@cache
def events() -> EventBridgeClient:
    return boto3.client("events")


@cache
def sqs() -> SQSClient:
    return boto3.client("sqs")


@cache
def ssm() -> SSMClient:
    return boto3.client("ssm")
