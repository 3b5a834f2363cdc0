"""The stream consumer: exactly-once qualification, partial batch failure, and the exceptions queue."""

from __future__ import annotations

from typing import Any

import pytest

import qualify
from referral_engine.adapters.eventbridge import EventBridgePublisher
from support.aws import AwsStack
from support.events import LambdaContext, json_body, sample
from support.journey import (
    create_campaign,
    enrol,
    generic_hook,
    get_referral,
    hook_id_of,
    qualify_via_api,
    run_qualify,
    sign_up,
)


def test_an_unmatched_signal_goes_to_the_exceptions_queue_with_its_payload(stack: AwsStack) -> None:
    # The canonical sample batch names a referral and a code this empty table does not have.
    batch = sample("qualify/stream_signal_batch")

    result = qualify.handler(batch, LambdaContext())

    assert result == {"batchItemFailures": []}  # set aside, not retried, batch not blocked
    reported = stack.exceptions()
    assert [r["reason"] for r in reported] == ["unmatched_signal", "unmatched_signal"]
    assert {r["payload"]["signal"]["event_id"] for r in reported} == {"inv_1QmZ8f2eZvKYlo2C", "order-10045"}
    assert reported[0]["function"] == "qualify"


def test_a_code_from_another_campaign_does_not_qualify(stack: AwsStack) -> None:
    ours = create_campaign()
    theirs = create_campaign()
    foreign = sign_up(enrol(theirs["id"])["code"])

    generic_hook(hook_id_of(ours), {"code": foreign["referral_code"], "event_id": "x1"})
    run_qualify(stack)

    assert json_body(get_referral(foreign["id"]))["status"] == "pending"
    assert [r["reason"] for r in stack.exceptions()] == ["unmatched_signal"]
    assert stack.captured_events() == []


def test_qualifies_by_code_and_by_email_from_the_generic_hook(stack: AwsStack) -> None:
    campaign = create_campaign()
    code = enrol(campaign["id"])["code"]
    by_code = sign_up(code, "one@example.org")
    by_email = sign_up(code, "two@example.org")

    generic_hook(hook_id_of(campaign), {"code": by_code["referral_code"].upper()})
    generic_hook(hook_id_of(campaign), {"email": "Two@Example.org"})
    run_qualify(stack)

    assert {e["detail"]["referral_id"] for e in stack.captured_events()} == {by_code["id"], by_email["id"]}
    assert json_body(get_referral(by_email["id"]))["status"] == "qualified"


def test_duplicate_signals_qualify_once_and_announce_once(stack: AwsStack) -> None:
    campaign = create_campaign()
    referral = sign_up(enrol(campaign["id"])["code"])
    qualify_via_api(referral["id"], event_id="inv_1")
    qualify_via_api(referral["id"], event_id="inv_2")
    generic_hook(hook_id_of(campaign), {"code": referral["referral_code"], "event_id": "order-1"})

    result = run_qualify(stack)

    assert len(result["records"]) == 3
    assert result["batchItemFailures"] == []
    events = stack.captured_events()
    assert len(events) == 1
    envelope = events[0]
    assert envelope["source"] == "referral-engine"
    assert envelope["detail-type"] == "referral.qualified"
    assert {"id", "time", "region", "version"} <= set(envelope)
    assert envelope["detail"]["referral_id"] == referral["id"]
    assert envelope["detail"]["signal"]["event_id"] == "inv_1"
    assert [a["action"] for a in stack.items_of("audit")].count("referral.qualified") == 1


def test_milestone_not_reached_keeps_the_referral_pending_with_an_audit_entry(stack: AwsStack) -> None:
    campaign = create_campaign(milestone={"min_amount": "50.00", "currency": "USD"})
    referral = sign_up(enrol(campaign["id"])["code"])

    qualify_via_api(referral["id"], event_id="small", amount="10.00", currency="USD")
    qualify_via_api(referral["id"], event_id="euro", amount="80.00", currency="EUR")
    run_qualify(stack)
    assert json_body(get_referral(referral["id"]))["status"] == "pending"
    assert [a["action"] for a in stack.items_of("audit")].count("signal.milestone_not_reached") == 2

    qualify_via_api(referral["id"], event_id="big", amount="79.00", currency="USD")
    run_qualify(stack)
    assert json_body(get_referral(referral["id"]))["status"] == "qualified"


def test_a_transient_failure_fails_only_its_record(stack: AwsStack, monkeypatch: pytest.MonkeyPatch) -> None:
    campaign = create_campaign()
    code = enrol(campaign["id"])["code"]
    healthy, failing = sign_up(code, "one@example.org"), sign_up(code, "two@example.org")
    qualify_via_api(healthy["id"], event_id="ok")
    qualify_via_api(failing["id"], event_id="boom")
    original = EventBridgePublisher.publish_qualified

    def flaky(self: EventBridgePublisher, event: Any) -> None:
        if event.referral_id == failing["id"]:
            raise ConnectionError("EventBridge unreachable")
        original(self, event)

    monkeypatch.setattr(EventBridgePublisher, "publish_qualified", flaky)
    result = run_qualify(stack)

    failed_sequence = next(
        r["dynamodb"]["SequenceNumber"]
        for r in result["records"]
        if "boom" in r["dynamodb"]["Keys"]["pk"]["S"]
    )
    assert result["batchItemFailures"] == [{"itemIdentifier": failed_sequence}]
    assert [e["detail"]["referral_id"] for e in stack.captured_events()] == [healthy["id"]]

    # Lambda retries the failed record: the referral was already moved, so the retry only announces it.
    monkeypatch.setattr(EventBridgePublisher, "publish_qualified", original)
    retry = {"Records": [r for r in result["records"] if r["dynamodb"]["SequenceNumber"] == failed_sequence]}
    assert qualify.handler(retry, LambdaContext()) == {"batchItemFailures": []}
    assert [e["detail"]["referral_id"] for e in stack.captured_events()] == [failing["id"]]
    assert [a["action"] for a in stack.items_of("audit")].count("referral.qualified") == 2
