"""The local AWS endpoint's snapshot (ADR 0013): what a restart finds, and what it refuses to load."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from referrals_local.stack import moto_state
from referrals_local.stack.aws_endpoint import CHANGES, LOCK, patched
from referrals_local.stack.local_state import LocalKeys
from referrals_local.stack.moto_state import Header, IncompatibleState, Snapshots

REGION = "us-east-1"
SECRET = "/referral-engine/test/connections/con_1"


def clients() -> dict[str, Any]:
    return {service: boto3.client(service, region_name=REGION) for service in ("dynamodb", "sqs", "ssm")}


@pytest.fixture
def aws() -> Iterator[dict[str, Any]]:
    with mock_aws(), patched():
        yield clients()


def a_day_of_work(aws: dict[str, Any]) -> str:
    """A table with an item, a queue with two messages (one received, not deleted), a secret."""
    aws["dynamodb"].create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    aws["dynamodb"].put_item(TableName="t", Item={"pk": {"S": "campaign#1"}})
    url: str = aws["sqs"].create_queue(QueueName="exceptions")["QueueUrl"]
    for body in ("first", "second"):
        aws["sqs"].send_message(QueueUrl=url, MessageBody=body)
    aws["sqs"].receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=600)
    aws["ssm"].put_parameter(Name=SECRET, Value="whsec_1", Type="SecureString")
    return url


def test_a_restored_snapshot_holds_items_stream_messages_and_secrets(tmp_path: Path) -> None:
    path = tmp_path / "state"
    with mock_aws(), patched(), LOCK:
        url = a_day_of_work(clients())
        moto_state.write_atomically(path, moto_state.capture())

    with mock_aws(), patched():  # a new endpoint process
        restored = clients()
        assert restored["dynamodb"].list_tables()["TableNames"] == []
        moto_state.restore(path, LOCK)

        assert restored["dynamodb"].get_item(TableName="t", Key={"pk": {"S": "campaign#1"}})["Item"]
        stream_arn = restored["dynamodb"].describe_table(TableName="t")["Table"]["LatestStreamArn"]
        streams = boto3.client("dynamodbstreams", region_name=REGION)
        [shard] = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]
        iterator = streams.get_shard_iterator(
            StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        assert len(streams.get_records(ShardIterator=iterator)["Records"]) == 1
        # the message received before the restart is visible again at once: its consumer is gone
        messages = restored["sqs"].receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        assert sorted(m["Body"] for m in messages) == ["first", "second"]
        secret = restored["ssm"].get_parameter(Name=SECRET, WithDecryption=True)["Parameter"]["Value"]
        assert secret == "whsec_1"


def test_a_snapshot_is_written_once_something_changed_and_not_again_for_reads(
    tmp_path: Path, aws: dict[str, Any]
) -> None:
    path = tmp_path / "state"
    snapshots = Snapshots(path, LOCK, lambda: CHANGES.count)
    assert not snapshots.save()  # nothing changed yet
    url = a_day_of_work(aws)
    assert snapshots.save()
    aws["sqs"].receive_message(QueueUrl=url)
    aws["dynamodb"].scan(TableName="t")
    assert not snapshots.save()
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_snapshot_from_another_moto_is_refused_with_how_to_start_clean(tmp_path: Path) -> None:
    path = tmp_path / "state"
    path.write_bytes(json.dumps({"format": 1, "moto": "0.0.1", "captured_at": 0.0}).encode() + b"\n")
    with pytest.raises(IncompatibleState, match="RESET=1"):
        moto_state.check(path)
    assert Header.read(tmp_path / "none") is None


def test_a_long_poll_does_not_hold_up_other_requests(aws: dict[str, Any]) -> None:
    url = aws["sqs"].create_queue(QueueName="waiting")["QueueUrl"]
    received: list[Any] = []
    poll = threading.Thread(
        target=lambda: received.extend(
            boto3.client("sqs", region_name=REGION)
            .receive_message(QueueUrl=url, WaitTimeSeconds=20)
            .get("Messages", [])
        )
    )
    poll.start()
    aws["sqs"].send_message(QueueUrl=url, MessageBody="wake up")  # would wait 20 s behind the poll
    poll.join(timeout=10)
    assert [m["Body"] for m in received] == ["wake up"]


def test_the_keys_given_win_then_the_last_runs_then_new_ones(tmp_path: Path) -> None:
    first = LocalKeys.choose(tmp_path, api_key=None, admin_api_key=None)
    assert first.api_key.startswith("rk_local_")
    assert first.admin_api_key.startswith("rk_admin_")
    assert LocalKeys.choose(tmp_path, api_key=None, admin_api_key=None) == first
    given = LocalKeys.choose(tmp_path, api_key=None, admin_api_key="rk_admin_fixed")
    assert given == LocalKeys(first.api_key, "rk_admin_fixed")
    assert LocalKeys.choose(tmp_path, api_key=None, admin_api_key=None) == given
