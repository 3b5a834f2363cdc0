"""`referrals dlq list | redrive | discard` over qualify-failure, reward-events and issue-reward-failure."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import boto3
import pytest

import issue_reward
import qualify
from referral_engine.adapters.dynamodb_stream_batch import EntireBatchFailed
from referral_engine.adapters.eventbridge import EventBridgePublisher
from support.events import LambdaContext, json_body, sample
from support.journey import (
    create_campaign,
    enrol,
    get_referral,
    qualify_via_api,
    run_issue_reward,
    run_qualify,
    sign_up,
)

if TYPE_CHECKING:
    from cli.conftest import Cli


def sample_body(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(sample(f"dlq/{name}")["Records"][0]["body"])
    return body


def messages(cli: Cli, *queue: str) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = cli.json("dlq", "list", *queue)["messages"]
    return listed


def a_qualified_referral(cli: Cli) -> tuple[dict[str, Any], dict[str, Any]]:
    """A referral qualified by the API, and the referral.qualified event the bus delivered for it."""
    referral = sign_up(enrol(create_campaign()["id"])["code"])
    qualify_via_api(referral["id"], event_id="inv_1", amount="79.00", currency="USD")
    run_qualify(cli.stack)
    [event] = cli.stack.captured_events()
    return referral, event


def rewards_of(cli: Cli, referral_id: str) -> list[dict[str, Any]]:
    return [r for r in cli.stack.items_of("reward") if r["referral_id"] == referral_id]


def issue_reward_outcomes(events: list[dict[str, Any]]) -> list[str]:
    return [issue_reward.handler(e, LambdaContext())["outcome"] for e in events]


# ------------------------------------------------------------------------------------ list
def test_list_shows_every_queue_with_reason_and_payload_and_consumes_nothing(cli: Cli) -> None:
    qualify_id = cli.send("qualify-failure", sample_body("qualify_stream_on_failure"))
    event = sample("issue_reward/referral_qualified")
    rule_id = cli.send(
        "reward-events", event, ERROR_CODE="SDK_CLIENT_ERROR", ERROR_MESSAGE="Lambda throttled"
    )
    issue_id = cli.send("issue-reward-failure", sample_body("issue_reward_on_failure"))

    listed = {m["queue"]: m for m in messages(cli)}
    text = cli.ok("dlq", "list")

    assert listed["qualify-failure"]["message_id"] == qualify_id
    assert listed["qualify-failure"]["reason"] == "RetryAttemptsExhausted after 6 attempts (Unhandled error)"
    assert listed["qualify-failure"]["payload"]["startSequenceNumber"] == "4421584500000000017450439091"
    assert listed["reward-events"]["message_id"] == rule_id
    assert listed["reward-events"]["reason"] == "SDK_CLIENT_ERROR: Lambda throttled"
    assert listed["reward-events"]["payload"] == event["detail"]
    assert listed["issue-reward-failure"]["message_id"] == issue_id
    assert listed["issue-reward-failure"]["reason"] == (
        "RetriesExhausted after 3 attempts: NotFound: no referral ref_01jd3k9z8y7x6w5v4t3s2r1q0p"
    )
    assert listed["issue-reward-failure"]["subject"] == (
        "referral.qualified for referral ref_01jd3k9z8y7x6w5v4t3s2r1q0p"
    )
    assert all(cli.visible(queue) == 1 for queue in listed)
    assert "qualify-failure: 1 message" in text
    assert "about    1 stream record(s) 4421584500000000017450439091..4421584500000000017450439091" in text
    assert '"referral_id": "ref_01jd3k9z8y7x6w5v4t3s2r1q0p"' in text


def test_list_of_one_queue_shows_only_that_queue(cli: Cli) -> None:
    cli.send("qualify-failure", sample_body("qualify_stream_on_failure"))
    issue_id = cli.send("issue-reward-failure", sample_body("issue_reward_on_failure"))

    assert [m["message_id"] for m in messages(cli, "issue-reward-failure")] == [issue_id]
    assert cli.ok("dlq", "list", "reward-events").strip() == "reward-events: empty"
    assert cli("dlq", "list", "nonsense").code == 2


# ------------------------------------------------------------------------------------ reward events
def test_redrive_of_a_rule_dead_letter_puts_the_event_back_and_rewards_once(cli: Cli) -> None:
    referral, event = a_qualified_referral(cli)  # ... and the rule failed to deliver the event
    message_id = cli.send("reward-events", event)

    out = cli.ok("dlq", "redrive", "reward-events", message_id)
    [delivered] = cli.stack.captured_events()

    assert out.strip() == (
        f"redriven {message_id}: referral.qualified put back on the bus {cli.outputs.event_bus_name}"
    )
    assert cli.depth("reward-events") == 0
    assert delivered["detail"] == event["detail"]
    assert delivered["source"] == "referral-engine"
    assert issue_reward_outcomes([delivered]) == ["issued"]
    assert json_body(get_referral(referral["id"]))["status"] == "rewarded"

    # a second redrive of the same event is absorbed: still one set of rewards
    cli.ok("dlq", "redrive", "reward-events", cli.send("reward-events", event))
    assert [o["outcome"] for o in run_issue_reward(cli.stack)] == ["duplicate"]
    assert len(rewards_of(cli, referral["id"])) == 2
    logs = cli.stack.items_of("admin_action")
    assert sorted((log["action"], log["queue"]) for log in logs) == [("redrive", "reward-events")] * 2


def test_redrive_of_an_issue_reward_failure_puts_its_request_payload_back(cli: Cli) -> None:
    referral, event = a_qualified_referral(cli)
    body = sample_body("issue_reward_on_failure")
    body["requestPayload"] = event
    message_id = cli.send("issue-reward-failure", body)

    result = cli.json("dlq", "redrive", "issue-reward-failure", message_id)

    assert result["results"][0]["ok"] is True
    assert result["results"][0]["admin_log"]["pk"].startswith("ADMINLOG#")
    assert [o["outcome"] for o in run_issue_reward(cli.stack)] == ["issued"]
    assert json_body(get_referral(referral["id"]))["status"] == "rewarded"
    assert cli.depth("issue-reward-failure") == 0


def test_redrive_all_keeps_the_messages_it_could_not_redrive(cli: Cli) -> None:
    _, event = a_qualified_referral(cli)
    good = cli.send("reward-events", event)
    bad = cli.send("reward-events", {"not": "an event"})

    run = cli("--json", "dlq", "redrive", "reward-events", "--all")

    assert run.code == 1
    results = {r["message_id"]: r for r in json.loads(run.out)["results"]}
    assert results[good]["ok"] is True
    assert results[bad]["ok"] is False
    assert results[bad]["detail"] == f"message {bad} holds no EventBridge event"
    assert f"reward-events {bad}: message {bad} holds no EventBridge event (the message stays" in run.err
    assert [m["message_id"] for m in messages(cli, "reward-events")] == [bad]
    assert len(cli.stack.captured_events()) == 1


# ------------------------------------------------------------------------------------ qualify failure
def on_failure_message(record: dict[str, Any]) -> dict[str, Any]:
    """The OnFailure record Lambda sends for a one-record batch: pointers to it, not the record."""
    arn = record["eventSourceARN"]
    shard = boto3.client("dynamodbstreams").describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]
    body = sample_body("qualify_stream_on_failure")
    sequence = record["dynamodb"]["SequenceNumber"]
    body["DDBStreamBatchInfo"].update(
        shardId=shard["ShardId"], streamArn=arn, startSequenceNumber=sequence, endSequenceNumber=sequence
    )
    return body


def test_redrive_of_a_stream_failure_reads_the_records_back_and_qualifies_once(cli: Cli) -> None:
    referral = sign_up(enrol(create_campaign()["id"])["code"])
    qualify_via_api(referral["id"], event_id="inv_1", amount="79.00", currency="USD")
    # qualify exhausted its retries on this batch: Lambda sent only the pointers to the OnFailure queue
    [record] = cli.stack.stream_batch()["Records"]
    message_id = cli.send("qualify-failure", on_failure_message(record))

    out = cli.ok("dlq", "redrive", "qualify-failure", message_id)
    result = run_qualify(cli.stack)

    assert out.startswith(f"redriven {message_id}: stored again as api:inv_1~redrive-")
    assert len(result["records"]) == 1
    shown = json_body(get_referral(referral["id"]))
    assert shown["status"] == "qualified"
    [event] = cli.stack.captured_events()
    assert event["detail"]["referral_id"] == referral["id"]
    assert event["detail"]["signal"]["event_id"].startswith("inv_1~redrive-")
    redriven = [s for s in cli.stack.items_of("signal") if s.get("redrive_of")]
    assert [(s["redrive_of"], s["amount"]) for s in redriven] == [("inv_1", 79)]
    assert cli.depth("qualify-failure") == 0
    audit = [a["action"] for a in cli.stack.items_of("audit") if a["referral_id"] == referral["id"]]
    assert audit.count("admin.signal_redriven") == 1
    assert audit.count("referral.qualified") == 1


def test_a_signal_that_qualified_but_was_never_announced_is_announced_on_redrive(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    referral = sign_up(enrol(create_campaign()["id"])["code"])
    qualify_via_api(referral["id"], event_id="inv_1")

    def unreachable(self: EventBridgePublisher, event: Any) -> None:
        raise ConnectionError("EventBridge unreachable")

    batch = cli.stack.stream_batch()
    with monkeypatch.context() as patch:  # qualify writes the transition, then cannot publish
        patch.setattr(EventBridgePublisher, "publish_qualified", unreachable)
        with pytest.raises(EntireBatchFailed):  # every record failed: the whole batch fails
            qualify.handler(batch, LambdaContext())
    assert json_body(get_referral(referral["id"]))["status"] == "qualified"
    assert cli.stack.captured_events() == []
    # ... and so on, until the retries are exhausted and Lambda sends the pointers to OnFailure
    message_id = cli.send("qualify-failure", on_failure_message(batch["Records"][0]))

    out = cli.ok("dlq", "redrive", "qualify-failure", message_id)

    assert out.strip() == (
        f"redriven {message_id}: api:inv_1 had qualified its referral unannounced: referral.qualified sent"
    )
    [event] = cli.stack.captured_events()
    assert event["detail"]["referral_id"] == referral["id"]
    assert event["detail"]["signal"]["event_id"] == "inv_1"
    assert issue_reward_outcomes([event]) == ["issued"]
    assert json_body(get_referral(referral["id"]))["status"] == "rewarded"
    assert [s for s in cli.stack.items_of("signal") if s.get("redrive_of")] == []
    assert cli.depth("qualify-failure") == 0


def test_a_stream_failure_whose_records_are_gone_fails_clearly_and_stays(cli: Cli) -> None:
    message_id = cli.send("qualify-failure", sample_body("qualify_stream_on_failure"))

    run = cli("dlq", "redrive", "qualify-failure", message_id)

    assert run.code == 1
    assert "can no longer be read" in run.err
    assert "DynamoDB keeps stream records for 24 hours" in run.err
    assert cli.visible("qualify-failure") == 1
    assert cli.stack.items_of("admin_action") == []


# ------------------------------------------------------------------------------------ discard
def test_discard_logs_who_why_and_what_then_removes_the_message(cli: Cli) -> None:
    body = sample_body("issue_reward_on_failure")
    message_id = cli.send("issue-reward-failure", body)
    keep = cli.send("issue-reward-failure", body)

    result = cli.json("dlq", "discard", "issue-reward-failure", message_id, "--reason", "test referral")

    [log] = cli.stack.items_of("admin_action")
    assert result["results"][0]["admin_log"] == {"pk": log["pk"], "sk": log["sk"]}
    assert log["sk"].endswith(f"#{message_id}")
    assert (log["action"], log["queue"], log["reason"], log["operator"]) == (
        "discard",
        "issue-reward-failure",
        "test referral",
        "local",
    )
    assert json.loads(log["body"]) == body
    assert [m["message_id"] for m in messages(cli, "issue-reward-failure")] == [keep]


def test_unknown_message_ids_exit_1(cli: Cli) -> None:
    cli.send("reward-events", sample("issue_reward/referral_qualified"))

    redrive = cli("dlq", "redrive", "reward-events", "nope")
    discard = cli("dlq", "discard", "reward-events", "nope", "--reason", "x")

    assert (redrive.code, discard.code) == (1, 1)
    assert redrive.err == "referrals: error: not found: no message nope in the reward-events queue\n"
    assert cli.visible("reward-events") == 1


def test_redrive_needs_a_message_id_or_all(cli: Cli) -> None:
    neither = cli("dlq", "redrive", "reward-events")
    both = cli("dlq", "redrive", "reward-events", "abc", "--all")

    assert (neither.code, both.code) == (2, 2)
    assert "one of the arguments message_id --all is required" in neither.err
