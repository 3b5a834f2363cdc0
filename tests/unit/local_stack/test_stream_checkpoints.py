"""A stream trigger resumes where it stopped (ADR 0013): after a restart it hands the function only
the records it had not handled yet."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from referrals_local.stack.aws_endpoint import patched
from referrals_local.stack.checkpoints import StreamCheckpoints
from referrals_local.stack.model import EventSpec, FunctionSpec, Resolver
from referrals_local.stack.runtime import InvokeResult
from referrals_local.stack.stream_poller import StreamPoller
from support.function_specs import QUALIFY
from support.polling import settled

FUNCTION = QUALIFY


def client(service: str) -> Any:
    return boto3.client(service, region_name="us-east-1")  # type: ignore[call-overload]


@pytest.fixture
def stream_arn() -> Iterator[str]:
    with mock_aws(), patched():
        dynamodb = client("dynamodb")
        table = dynamodb.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        StreamCheckpoints(dynamodb).ensure_table()
        yield table["TableDescription"]["LatestStreamArn"]


class Function:
    def __init__(self) -> None:
        self.seen: list[str] = []

    def __call__(self, function: FunctionSpec, payload: bytes, trigger: str) -> InvokeResult:
        self.seen += [r["dynamodb"]["Keys"]["pk"]["S"] for r in json.loads(payload)["Records"]]
        return InvokeResult(True, b"null", 1.0, False)


def a_poller(stream_arn: str, function: Function) -> StreamPoller:
    event = EventSpec("Stream", "DynamoDB", {"Stream": stream_arn, "StartingPosition": "TRIM_HORIZON"})
    poller = StreamPoller(FUNCTION, event, Resolver("stack", {}), client, function, poll_interval=0.02)
    poller.start()
    return poller


def put(*keys: str) -> None:
    for key in keys:
        client("dynamodb").put_item(TableName="t", Item={"pk": {"S": key}})


def test_a_restarted_trigger_hands_on_only_what_it_had_not_handled(stream_arn: str) -> None:
    before = Function()
    poller = a_poller(stream_arn, before)
    put("a", "b", "c")
    settled(lambda: before.seen == ["a", "b", "c"], what="the first records")
    poller.stop()
    put("d", "e")  # written while the runner is down

    after = Function()
    poller = a_poller(stream_arn, after)
    try:
        settled(lambda: after.seen == ["d", "e"], what="only the records written since")
    finally:
        poller.stop()
