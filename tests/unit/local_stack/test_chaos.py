"""Chaos mode (ADR 0016): the spec's grammar and its errors, seeded draws, and faults answered as the real
services answer them, before the operation runs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws

from referrals_local.stack import chaos_endpoint
from referrals_local.stack.aws_endpoint import patched
from referrals_local.stack.chaos import RUNNER_HEADER, Chaos, ChaosSpecError, Rule, parse_spec

TABLE = "chaos-test"


def test_a_spec_reads_as_its_rules() -> None:
    rules = parse_spec(
        " dynamodb:UpdateItem=throttle@0.2, sqs=500@5%,events:PutEvents=timeout@0.1,*=latency:200ms@1 "
    )

    assert rules == (
        Rule("dynamodb", "UpdateItem", "throttle", 0.2),
        Rule("sqs", None, "500", 0.05),
        Rule("events", "PutEvents", "timeout", 0.1, 1.0),
        Rule("*", None, "latency", 1.0, 0.2),
    )
    assert parse_spec("ssm=timeout-after:1.5s@0") == (Rule("ssm", None, "timeout-after", 0.0, 1.5),)
    assert parse_spec("") == ()


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("dynamodb", "a rule is TARGET=FAULT@RATE"),
        ("dynamodb=throttle", "a rule is TARGET=FAULT@RATE"),
        ("dynamodb=throttle@1.5", "not between 0 and 1"),
        ("dynamodb=throttle@lots", "not between 0 and 1"),
        ("dynamodb=slow@0.1", "unknown fault 'slow'"),
        ("dynamodb=latency@0.1", "unknown fault 'latency'"),
        ("dynamodb=latency:2m@0.1", "'2m' is not a duration"),
        ("*:PutItem=throttle@0.1", "name a service first"),
        ("dynamo db=throttle@0.1", "a service or service:Operation"),
    ],
)
def test_a_bad_spec_says_what_is_wrong(spec: str, says: str) -> None:
    with pytest.raises(ChaosSpecError, match=re.escape(says)) as raised:
        parse_spec(f"sqs=500@0.1,{spec}")
    assert repr(spec) in str(raised.value)  # names the rule


def failures(chaos: Chaos, count: int) -> list[bool]:
    return [chaos.decide("dynamodb", "PutItem").failure is not None for _ in range(count)]


def test_the_same_seed_draws_the_same_faults_at_the_rate_given() -> None:
    first = failures(Chaos.from_spec("dynamodb=throttle@0.2", seed=7), 2000)

    assert first == failures(Chaos.from_spec("dynamodb=throttle@0.2", seed=7), 2000)
    assert first != failures(Chaos.from_spec("dynamodb=throttle@0.2", seed=8), 2000)
    assert 300 < sum(first) < 500


def test_latencies_add_up_and_the_first_failure_in_the_spec_answers() -> None:
    chaos = Chaos.from_spec("sqs=latency:100ms@1,*=latency:50ms@1,sqs=500@1,sqs=throttle@1,events=throttle@1")

    decision = chaos.decide("sqs", "SendMessage")

    assert decision.latency == pytest.approx(0.15)
    assert decision.failure is not None
    assert decision.failure.fault == "500"
    assert chaos.decide("dynamodb", "GetItem").failure is None
    assert chaos.describe()["injected"] == {"sqs:SendMessage=500": 1}


@pytest.fixture
def faulted() -> Iterator[Any]:
    """moto in process, corrected and with chaos mode's injector; the spec is set per test."""
    with mock_aws(), patched():
        yield
    chaos_endpoint.ACTIVE.replace("")


def client(service: str, *, runner: bool = False) -> Any:
    made: Any = boto3.client(  # type: ignore[call-overload]
        service, region_name="us-east-1", config=Config(retries={"total_max_attempts": 1})
    )
    if runner:
        made.meta.events.register("before-sign", mark_as_runner)
    return made


def mark_as_runner(request: Any, **kwargs: Any) -> None:
    request.headers[RUNNER_HEADER] = "1"


def error_of(call: Any) -> tuple[int, str]:
    with pytest.raises(ClientError) as raised:
        call()
    return raised.value.response["ResponseMetadata"]["HTTPStatusCode"], raised.value.response["Error"]["Code"]


def test_each_service_is_throttled_and_failed_as_it_answers_on_aws(faulted: None) -> None:
    dynamodb = client("dynamodb")
    dynamodb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    queue_url = client("sqs").create_queue(QueueName="chaos")["QueueUrl"]
    chaos_endpoint.ACTIVE.replace(
        "dynamodb:PutItem=throttle@1,dynamodb:DescribeTable=throttle@1,dynamodb:GetItem=500@1,"
        "sqs:SendMessage=throttle@1,sqs:ReceiveMessage=500@1,events:PutEvents=throttle@1"
    )

    put = {"TableName": TABLE, "Item": {"pk": {"S": "a"}}}
    assert error_of(lambda: dynamodb.put_item(**put)) == (400, "ProvisionedThroughputExceededException")
    assert error_of(lambda: dynamodb.describe_table(TableName=TABLE)) == (400, "ThrottlingException")
    assert error_of(lambda: dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": "a"}})) == (
        500,
        "InternalServerError",
    )
    sqs = client("sqs")
    assert error_of(lambda: sqs.send_message(QueueUrl=queue_url, MessageBody="x")) == (
        400,
        "RequestThrottled",
    )
    assert error_of(lambda: sqs.receive_message(QueueUrl=queue_url)) == (500, "InternalFailure")
    entry = {"Source": "chaos", "DetailType": "t", "Detail": "{}"}
    assert error_of(lambda: client("events").put_events(Entries=[entry])) == (400, "ThrottlingException")

    # The refused write was never applied; the runner's own calls meet no faults
    chaos_endpoint.ACTIVE.replace("dynamodb:PutItem=throttle@1")
    assert "Item" not in client("dynamodb", runner=True).get_item(TableName=TABLE, Key={"pk": {"S": "a"}})
    client("dynamodb", runner=True).put_item(**put)
    assert client("dynamodb", runner=True).get_item(TableName=TABLE, Key={"pk": {"S": "a"}})["Item"]
