"""`referrals dlq list | redrive | discard` over hook-events, announce-referrals-failure and
deliver-events-failure: the dead letters of deliver_events' bus rule, its async OnFailure records and
announce_referrals' stream OnFailure records, produced by running both functions in process against a
real HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
import pytest

import announce_referrals
import deliver_events
from referral_engine.adapters.dynamodb_stream_batch import EntireBatchFailed
from referral_engine.adapters.eventbridge import EventBridgePublisher
from referral_engine.services.deliveries import DeliveryIncomplete
from referrals_local.cli.parser import DLQ_NAMES
from support.aws import BUS, DeliveryWiring, reset_caches, wire_event_delivery
from support.events import LambdaContext, sample
from support.journey import call_api, create_campaign, enrol, qualify_via_api, run_qualify, sign_up
from support.receiver import Receiver, receiving

if TYPE_CHECKING:
    from cli.conftest import Cli

ANNOUNCE_ARN = "arn:aws:lambda:us-east-1:123456789012:function:referral-engine-AnnounceReferralsFunction-Ar1"
DELIVER_ARN = "arn:aws:lambda:us-east-1:123456789012:function:referral-engine-DeliverEventsFunction-De1"


# ------------------------------------------------------------------------------ a real receiver
@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as receiver:
        yield receiver


# ------------------------------------------------------- announce_referrals and deliver_events, as deployed
@dataclass
class Deliveries:
    cli: Cli
    wiring: DeliveryWiring

    def stream_batch(self) -> dict[str, Any]:
        return self.wiring.stream_batch()

    def bus_events(self) -> list[dict[str, Any]]:
        return self.wiring.bus_events()

    def deliver(self, event: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = deliver_events.handler(event, LambdaContext("deliver_events"))
        return result


@pytest.fixture
def deliveries(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> Deliveries:
    wiring = wire_event_delivery(cli.stack.template)
    # As on the local stack, whose API is served from loopback: loopback targets are allowed.
    monkeypatch.setenv("PUBLIC_BASE_URL", "http://127.0.0.1:3000")
    reset_caches()
    return Deliveries(cli, wiring)


def subscribe(target_url: str, event: str) -> None:
    assert call_api("subscribe_hook", body={"target_url": target_url, "event": event})["statusCode"] == 201


def a_referral() -> dict[str, Any]:
    return sign_up(enrol(create_campaign()["id"])["code"])


def async_failure(event: dict[str, Any], error: Exception) -> dict[str, Any]:
    """Lambda's async OnFailure record after the retries, with the handler's own error."""
    return {
        "version": "1.0",
        "timestamp": "2026-11-23T20:18:09.342Z",
        "requestContext": {
            "requestId": "e4b46cbf-b738-xmpl-8880-a18cdf61200e",
            "functionArn": f"{DELIVER_ARN}:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3,
        },
        "requestPayload": event,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {"errorMessage": str(error), "errorType": type(error).__name__, "stackTrace": []},
    }


def stream_failure(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Lambda's stream OnFailure record: pointers to the batch, not the records."""
    arn = records[0]["eventSourceARN"]
    shard = boto3.client("dynamodbstreams").describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]
    return {
        "requestContext": {
            "requestId": "316aa6d0-8154-xmpl-9af7-85d5f4a6bc81",
            "functionArn": ANNOUNCE_ARN,
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": 6,
        },
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "version": "1.0",
        "timestamp": "2026-11-23T20:21:43.394Z",
        "DDBStreamBatchInfo": {
            "shardId": shard["ShardId"],
            "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
            "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
            "approximateArrivalOfFirstRecord": "2026-11-23T20:15:04Z",
            "approximateArrivalOfLastRecord": "2026-11-23T20:15:04Z",
            "batchSize": len(records),
            "streamArn": arn,
        },
    }


def unannounced(
    deliveries: Deliveries, monkeypatch: pytest.MonkeyPatch
) -> tuple[dict[str, Any], dict[str, Any]]:
    """announce_referrals failing every attempt at a batch of new referrals (EventBridge is unreachable): the
    OnFailure record Lambda sends, and the batch."""

    def unreachable(self: EventBridgePublisher, event: object) -> None:
        raise ConnectionError("EventBridge unreachable")

    batch = deliveries.stream_batch()
    with monkeypatch.context() as patch:
        patch.setattr(EventBridgePublisher, "publish_created", unreachable)
        with pytest.raises(EntireBatchFailed):  # every record failed: the whole batch fails
            announce_referrals.handler(batch, LambdaContext("announce_referrals"))
    assert deliveries.bus_events() == []
    return stream_failure(batch["Records"]), batch


def messages(cli: Cli, *queue: str) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = cli.json("dlq", "list", *queue)["messages"]
    return listed


# ------------------------------------------------------------------------------------ list
def test_the_cli_knows_every_failure_queue(cli: Cli) -> None:
    from referral_engine.services.admin_messages import DLQS

    assert DLQ_NAMES == DLQS
    text = cli.ok("dlq", "list")
    assert [line.split(":")[0] for line in text.splitlines() if line and not line.startswith(" ")] == list(
        DLQS
    )


def test_list_describes_rule_dead_letters_and_both_kinds_of_failure_records(
    cli: Cli, deliveries: Deliveries, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = sample("deliver_events/referral_created")
    rule_id = cli.send(
        "hook-events", created, ERROR_CODE="SDK_CLIENT_ERROR", ERROR_MESSAGE="Lambda throttled"
    )
    subscribe(receiver.url(), "referral.created")
    referral = a_referral()
    pointers, _ = unannounced(deliveries, monkeypatch)
    stream_id = cli.send("announce-referrals-failure", pointers)
    event = {**created, "detail": {**created["detail"], "referral_id": referral["id"]}}
    receiver.answers["/zap"] = [503]
    with pytest.raises(DeliveryIncomplete) as failed:
        deliveries.deliver(event)
    async_id = cli.send("deliver-events-failure", async_failure(event, failed.value))

    listed = {m["message_id"]: m for m in messages(cli)}
    text = cli.ok("dlq", "list", "announce-referrals-failure")

    assert listed[rule_id]["queue"] == "hook-events"
    assert listed[rule_id]["reason"] == "SDK_CLIENT_ERROR: Lambda throttled"
    assert listed[rule_id]["subject"] == "referral.created for referral ref_01jd3k9z8y7x6w5v4t3s2r1q0p"
    assert listed[rule_id]["payload"] == created["detail"]
    batch = pointers["DDBStreamBatchInfo"]
    assert listed[stream_id]["queue"] == "announce-referrals-failure"
    assert listed[stream_id]["reason"] == "RetryAttemptsExhausted after 6 attempts (Unhandled error)"
    assert listed[stream_id]["subject"] == (
        f"1 stream record(s) {batch['startSequenceNumber']}..{batch['endSequenceNumber']}"
        f" on {batch['shardId']} (new referrals not announced)"
    )
    assert listed[stream_id]["payload"] == batch
    assert listed[async_id]["reason"].startswith(
        "RetriesExhausted after 3 attempts: DeliveryIncomplete: delivery failed for 1 subscription(s)"
    )
    assert "HTTP 503" in listed[async_id]["reason"]
    assert listed[async_id]["subject"] == f"referral.created for referral {referral['id']}"
    assert listed[async_id]["queue"] == "deliver-events-failure"
    assert listed[async_id]["payload"] == event["detail"]
    visible = [
        cli.visible(q) for q in ("hook-events", "announce-referrals-failure", "deliver-events-failure")
    ]
    assert visible == [1, 1, 1]
    assert text.startswith("announce-referrals-failure: 1 message\n")
    assert "(new referrals not announced)" in text


# ------------------------------------------------------------------------------------ events
def test_redrive_of_a_rule_dead_letter_delivers_the_event_once(
    cli: Cli, deliveries: Deliveries, receiver: Receiver
) -> None:
    subscribe(receiver.url(), "referral.created")
    referral = a_referral()
    announce_referrals.handler(deliveries.stream_batch(), LambdaContext("announce_referrals"))
    [event] = deliveries.bus_events()  # ... which the rule could not deliver to deliver_events
    message_id = cli.send("hook-events", event)

    out = cli.ok("dlq", "redrive", "hook-events", message_id)
    [again] = deliveries.bus_events()
    outcome = deliveries.deliver(again)

    assert out.strip() == f"redriven {message_id}: referral.created put back on the bus {BUS}"
    assert again["detail"] == event["detail"]
    assert (outcome["delivered"], outcome["already_delivered"]) == (1, 0)
    assert [r.payload["id"] for r in receiver.at()] == [referral["id"]]
    assert cli.depth("hook-events") == 0
    [log] = cli.stack.items_of("admin_action")
    assert (log["action"], log["queue"], log["operator"]) == ("redrive", "hook-events", "local")

    # A second copy redriven is absorbed by the delivery log: the target is not posted to again.
    cli.send("hook-events", event)
    cli.ok("dlq", "redrive", "hook-events", "--all")
    [twice] = deliveries.bus_events()
    assert (deliveries.deliver(twice)["already_delivered"], len(receiver.received)) == (1, 1)


def test_redrive_of_an_async_failure_posts_only_to_the_target_that_failed(
    cli: Cli, deliveries: Deliveries, receiver: Receiver
) -> None:
    subscribe(receiver.url("/flaky"), "referral.qualified")
    subscribe(receiver.url("/fine"), "referral.qualified")
    referral = a_referral()
    qualify_via_api(referral["id"], event_id="inv_1", amount="79.00", currency="USD")
    run_qualify(cli.stack)
    [event] = [e for e in deliveries.bus_events() if e["detail-type"] == "referral.qualified"]
    cli.stack.captured_events()  # issue_reward's copy: not what this test is about
    receiver.answers["/flaky"] = [500] * 3  # it fails every retry; the other target takes the first
    for _ in range(3):
        with pytest.raises(DeliveryIncomplete) as failed:
            deliveries.deliver(event)
    message_id = cli.send("deliver-events-failure", async_failure(event, failed.value))
    assert (len(receiver.at("/flaky")), len(receiver.at("/fine"))) == (3, 1)

    result = cli.json("dlq", "redrive", "deliver-events-failure", message_id)
    [again] = deliveries.bus_events()
    outcome = deliveries.deliver(again)

    [redriven] = result["results"]
    assert redriven["ok"] is True
    assert redriven["detail"] == f"referral.qualified put back on the bus {BUS}"
    assert (redriven["signals"], redriven["referrals"]) == ([], [])
    assert (outcome["delivered"], outcome["already_delivered"], outcome["failed"]) == (1, 1, 0)
    assert (len(receiver.at("/flaky")), len(receiver.at("/fine"))) == (4, 1)
    assert (receiver.at("/flaky")[-1].payload["event"], receiver.at("/flaky")[-1].payload["id"]) == (
        "referral.qualified",
        referral["id"],
    )
    # issue_reward hears the event again too; it rewards exactly once
    [reward_event] = cli.stack.captured_events()
    assert reward_event["detail"] == event["detail"]
    assert cli.depth("deliver-events-failure") == 0


# ------------------------------------------------------------------------------------ stream pointers
def test_redrive_of_a_stream_failure_announces_the_new_referral_as_announce_referrals_does(
    cli: Cli, deliveries: Deliveries, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    subscribe(receiver.url(), "referral.created")
    referral = a_referral()
    pointers, batch = unannounced(deliveries, monkeypatch)
    message_id = cli.send("announce-referrals-failure", pointers)

    out = cli.ok("dlq", "redrive", "announce-referrals-failure", message_id)
    [event] = deliveries.bus_events()
    outcome = deliveries.deliver(event)

    assert out.strip() == (
        f"redriven {message_id}: referral.created published again for {referral['id']} on the bus {BUS}"
    )
    assert event["source"] == "referral-engine"
    assert event["detail-type"] == "referral.created"
    assert event["detail"]["referral_id"] == referral["id"]
    assert event["detail"]["referred_code"] == referral["referral_code"]
    assert outcome["delivered"] == 1
    [delivered] = receiver.at()
    payload = delivered.payload
    assert (payload["id"], payload["event"], payload["status"]) == (
        referral["id"],
        "referral.created",
        "pending",
    )
    assert cli.depth("announce-referrals-failure") == 0
    [log] = cli.stack.items_of("admin_action")
    assert (log["queue"], log["referrals"], log.get("signals")) == (
        "announce-referrals-failure",
        [referral["id"]],
        None,
    )
    # ... the very event announce_referrals publishes for the same records
    assert announce_referrals.handler(batch, LambdaContext("announce_referrals"))["batchItemFailures"] == []
    [own] = deliveries.bus_events()
    assert (own["source"], own["detail-type"], own["detail"]) == (
        event["source"],
        event["detail-type"],
        event["detail"],
    )


def test_a_stream_failure_redriven_twice_reaches_the_target_once(
    cli: Cli, deliveries: Deliveries, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    subscribe(receiver.url(), "referral.created")
    a_referral()
    pointers, _ = unannounced(deliveries, monkeypatch)
    cli.send("announce-referrals-failure", pointers)
    cli.send("announce-referrals-failure", pointers)

    result = cli.json("dlq", "redrive", "announce-referrals-failure", "--all")
    outcomes = [deliveries.deliver(event) for event in deliveries.bus_events()]

    assert [r["ok"] for r in result["results"]] == [True, True]
    assert sorted((o["delivered"], o["already_delivered"]) for o in outcomes) == [(0, 1), (1, 0)]
    assert len(receiver.received) == 1


def test_a_stream_failure_without_referral_inserts_is_not_redriven_and_stays(
    cli: Cli, deliveries: Deliveries, monkeypatch: pytest.MonkeyPatch
) -> None:
    referral = a_referral()
    qualify_via_api(referral["id"], event_id="inv_1")
    signal_records = [
        r
        for _, r in deliveries.wiring.stream.read()
        if r["dynamodb"]["NewImage"].get("entity", {}).get("S") == "signal"
    ]
    message_id = cli.send("announce-referrals-failure", stream_failure(signal_records))

    run = cli("dlq", "redrive", "announce-referrals-failure", message_id)

    assert run.code == 1
    assert "hold no referral inserts; discard it" in run.err
    assert deliveries.bus_events() == []
    assert cli.visible("announce-referrals-failure") == 1
    assert cli.stack.items_of("admin_action") == []


def test_a_stream_failure_whose_records_are_gone_fails_clearly_and_stays(cli: Cli) -> None:
    body = json.loads(sample("dlq/qualify_stream_on_failure")["Records"][0]["body"])
    body["requestContext"]["functionArn"] = ANNOUNCE_ARN
    message_id = cli.send("announce-referrals-failure", body)

    run = cli("dlq", "redrive", "announce-referrals-failure", message_id)

    assert run.code == 1
    assert "can no longer be read" in run.err
    assert cli.visible("announce-referrals-failure") == 1


# ------------------------------------------------------------------------------------ discard
@pytest.mark.parametrize("queue", ["hook-events", "deliver-events-failure"])
def test_discard_logs_the_decision_and_removes_only_that_message(cli: Cli, queue: str) -> None:
    event = sample("deliver_events/referral_qualified")
    body = event if queue == "hook-events" else async_failure(event, RuntimeError("boom"))
    message_id = cli.send(queue, body)
    keep = cli.send(queue, body)

    out = cli.ok("dlq", "discard", queue, message_id, "--reason", "the zap was deleted")

    [log] = cli.stack.items_of("admin_action")
    assert out.startswith(f"discarded {message_id}: recorded in the admin log ADMINLOG#")
    assert (log["action"], log["queue"], log["reason"]) == ("discard", queue, "the zap was deleted")
    assert json.loads(log["body"]) == body
    assert [m["message_id"] for m in messages(cli, queue)] == [keep]


def test_an_event_redriven_from_the_sample_reaches_the_bus(cli: Cli, deliveries: Deliveries) -> None:
    message_id = cli.send("hook-events", sample("deliver_events/referral_qualified"))

    cli.ok("dlq", "redrive", "hook-events", message_id)

    [event] = deliveries.bus_events()
    assert event["detail"] == sample("deliver_events/referral_qualified")["detail"]
    assert event["detail-type"] == "referral.qualified"
