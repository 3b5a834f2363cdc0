"""An in-process AWS (moto) holding the resources template.yaml defines, for handler-level tests."""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
from moto import mock_aws

from referral_engine import settings, wiring
from referral_engine.adapters import aws as aws_clients
from referral_engine.adapters import fingerprint_secret
from referrals_local.stack.aws_endpoint import patched
from referrals_local.stack.filters import filter_patterns, passes
from referrals_local.stack.resources import generated_secret
from referrals_local.stack.stream_reader import StreamReader
from referrals_local.template import load_template, table_create_kwargs

TABLE = "referrals-test"
BUS = "referrals-test-bus"
API_KEY = "rk_test-key-0123456789abcdefghijklmnopqrstuv"
FINGERPRINT_SECRET = "referrals-test-fingerprints"  # the name of a generated secret
# The admin function's failure queues: its environment variable and a queue name each.
FAILURE_QUEUES = {
    "QUALIFY_FAILURE_QUEUE_URL": "qualify-failure",
    "REWARD_EVENTS_DLQ_URL": "reward-events",
    "ISSUE_REWARD_FAILURE_QUEUE_URL": "issue-reward-failure",
    "HOOK_EVENTS_DLQ_URL": "hook-events",
    "ANNOUNCE_REFERRALS_FAILURE_QUEUE_URL": "announce-referrals-failure",
    "DELIVER_EVENTS_FAILURE_QUEUE_URL": "deliver-events-failure",
}


def reset_caches() -> None:
    """Forget cached settings, clients and services, as a fresh Lambda container would."""
    settings.get_settings.cache_clear()
    for module in (aws_clients, wiring, fingerprint_secret):
        for value in vars(module).values():
            if callable(getattr(value, "cache_clear", None)):
                value.cache_clear()


def receive_all(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        ).get("Messages", [])
        if not batch:
            return messages
        for message in batch:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        messages.extend(batch)


@dataclass
class AwsStack:
    template: dict[str, Any]
    exceptions_queue_url: str
    capture_queue_url: str
    stream: StreamReader
    stream_filters: list[dict[str, Any]]
    write_log: StreamReader  # the table's stream read apart from `stream`, for `changes()`

    def stream_batch(self) -> dict[str, Any]:
        """The stream records written since the last call that pass the template's FilterCriteria."""
        return {"Records": [r for _, r in self.stream.read() if passes(self.stream_filters, r)]}

    def changes(self) -> dict[tuple[str, str], tuple[Any, Any]]:
        """The items the table holds differently since the last call: (pk, sk) → (the item before, the
        item now; None where there was or is none). What a scan before and after would show, found at
        the cost of the writes alone (the table's stream), where a scan's cost grows with the table. A
        write undone (an in-progress record deleted again) is no change."""
        images: dict[tuple[str, str], list[Any]] = {}
        while batch := self.write_log.read():
            for _, record in batch:
                written = record["dynamodb"]
                key = (written["Keys"]["pk"]["S"], written["Keys"]["sk"]["S"])
                before_and_after = images.setdefault(key, [written.get("OldImage"), None])
                before_and_after[1] = written.get("NewImage")
        return {key: (before, after) for key, (before, after) in images.items() if before != after}

    @property
    def dynamodb(self) -> Any:
        return boto3.client("dynamodb")

    @property
    def sqs(self) -> Any:
        return boto3.client("sqs")

    def captured_events(self) -> list[dict[str, Any]]:
        """Events the bus delivered through the template's own rule pattern, as EventBridge envelopes."""
        return [json.loads(m["Body"]) for m in receive_all(self.sqs, self.capture_queue_url)]

    def exceptions(self) -> list[dict[str, Any]]:
        return [json.loads(m["Body"]) for m in receive_all(self.sqs, self.exceptions_queue_url)]

    def items(self) -> list[dict[str, Any]]:
        from referral_engine.adapters.dynamodb.codec import from_item

        pages = self.dynamodb.get_paginator("scan").paginate(TableName=TABLE)
        return [from_item(item) for page in pages for item in page["Items"]]

    def items_of(self, entity: str) -> list[dict[str, Any]]:
        return [item for item in self.items() if item.get("entity") == entity]


def _reward_rules(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """issue_reward's rules by name: `referral.qualified` (the rewards), `referral.reversed` (clawback)."""
    events = template["Resources"]["IssueRewardFunction"]["Properties"]["Events"]
    return {
        name: dict(event["Properties"]["Pattern"])
        for name, event in events.items()
        if event["Type"] == "EventBridgeRule"
    }


def _stream_event(template: dict[str, Any]) -> dict[str, Any]:
    events = template["Resources"]["QualifyFunction"]["Properties"]["Events"]
    stream = next(event for event in events.values() if event["Type"] == "DynamoDB")
    return dict(stream["Properties"])


@dataclass
class DeliveryWiring:
    """The subscription path's two triggers as template.yaml wires them: announce_referrals' FilterCriteria
    over the table's stream, and deliver_events' bus rule, whose matches land in a capture queue
    instead of the function."""

    stream: StreamReader
    stream_filters: list[dict[str, Any]]
    capture_queue_url: str

    def stream_batch(self) -> dict[str, Any]:
        """The stream records written since the last call that pass announce_referrals' FilterCriteria."""
        return {"Records": [r for _, r in self.stream.read() if passes(self.stream_filters, r)]}

    def bus_events(self) -> list[dict[str, Any]]:
        """The events the bus matched to deliver_events' rule since the last call."""
        return [json.loads(m["Body"]) for m in receive_all(boto3.client("sqs"), self.capture_queue_url)]


def _only_event(template: dict[str, Any], function: str, kind: str) -> dict[str, Any]:
    events = template["Resources"][function]["Properties"]["Events"]
    [event] = [dict(event["Properties"]) for event in events.values() if event["Type"] == kind]
    return event


def wire_event_delivery(template: dict[str, Any]) -> DeliveryWiring:
    stream_event = _only_event(template, "AnnounceReferralsFunction", "DynamoDB")
    rule = _only_event(template, "DeliverEventsFunction", "EventBridgeRule")
    sqs = boto3.client("sqs")
    capture_url = sqs.create_queue(QueueName="referral-events-capture")["QueueUrl"]
    capture_arn = sqs.get_queue_attributes(QueueUrl=capture_url, AttributeNames=["QueueArn"])
    bus = boto3.client("events")
    bus.put_rule(Name="deliveries", EventBusName=BUS, EventPattern=json.dumps(rule["Pattern"]))
    bus.put_targets(
        Rule="deliveries",
        EventBusName=BUS,
        Targets=[{"Id": "capture", "Arn": capture_arn["Attributes"]["QueueArn"]}],
    )
    stream_arn = boto3.client("dynamodb").describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
    reader = StreamReader(boto3.client("dynamodbstreams"), stream_arn)
    return DeliveryWiring(reader, filter_patterns(stream_event), capture_url)


@functools.cache
def _template() -> dict[str, Any]:
    return load_template()


@contextmanager
def aws_stack() -> Iterator[AwsStack]:
    template = copy.deepcopy(_template())
    with mock_aws(), patched():  # moto as the local stack runs it
        reset_caches()
        dynamodb = boto3.client("dynamodb")
        dynamodb.create_table(**table_create_kwargs(template, "ReferralsTable", table_name=TABLE))
        events = boto3.client("events")
        events.create_event_bus(Name=BUS)
        generated_secret(boto3.client("secretsmanager"), FINGERPRINT_SECRET)
        sqs = boto3.client("sqs")
        exceptions_url = sqs.create_queue(QueueName="exceptions")["QueueUrl"]
        capture_url = sqs.create_queue(QueueName="bus-capture")["QueueUrl"]
        capture_arn = sqs.get_queue_attributes(QueueUrl=capture_url, AttributeNames=["QueueArn"])
        for name, pattern in _reward_rules(template).items():
            events.put_rule(Name=name, EventBusName=BUS, EventPattern=json.dumps(pattern))
            events.put_targets(
                Rule=name,
                EventBusName=BUS,
                Targets=[{"Id": "capture", "Arn": capture_arn["Attributes"]["QueueArn"]}],
            )
        stream_arn = dynamodb.describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
        reader = StreamReader(boto3.client("dynamodbstreams"), stream_arn)
        patterns = filter_patterns(_stream_event(template))
        write_log = StreamReader(boto3.client("dynamodbstreams"), stream_arn)
        yield AwsStack(template, exceptions_url, capture_url, reader, patterns, write_log)
    reset_caches()
