"""What an operator sees in the logs and metrics: a request's id in the log lines of every function it
went through (the HTTP function, then over the stream and the bus), and the business counts as
CloudWatch EMF lines on stdout (Powertools' Metrics; track_click prints its own)."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

import announce_referrals
import api
import deliver_events
import inbound_webhook
import issue_reward
import qualify
from referral_engine import wiring
from referral_engine.adapters.dynamodb.signals import DynamoSignalInbox
from referral_engine.domain.models import Signal, SignalKind, SignalMatch, utcnow
from support.aws import AwsStack, wire_event_delivery
from support.events import LambdaContext, http_event, json_body, sample
from support.journey import (
    AUTH,
    click,
    create_campaign,
    create_connection,
    enrol,
    hook_id_of,
    run_issue_reward,
    run_qualify,
    vendor_hook,
)
from support.logs import Logs

SIGNUP_REQUEST = "Sg7uPq1XIAMEa1Q="
WEBHOOK_REQUEST = "Wh5kLm2YIAMEb2R="


def metric_lines(text: str) -> list[dict[str, Any]]:
    """The EMF lines among what a handler printed."""
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    return [line for line in lines if "_aws" in line]


def counted(text: str, name: str) -> list[dict[str, Any]]:
    """Every EMF line declaring `name`, with its value and dimensions."""
    found = []
    for line in metric_lines(text):
        [directive] = line["_aws"]["CloudWatchMetrics"]
        if any(metric["Name"] == name for metric in directive["Metrics"]):
            assert directive["Namespace"] == os.environ["POWERTOOLS_METRICS_NAMESPACE"]
            assert line["service"] == os.environ["POWERTOOLS_SERVICE_NAME"]
            values = line[name] if isinstance(line[name], list) else [line[name]]  # Powertools: a list
            found.append({"value": sum(values), "dimensions": directive["Dimensions"], "line": line})
    return found


def signed_up(code: str) -> dict[str, Any]:
    """POST /v1/referrals as the request SIGNUP_REQUEST."""
    event = http_event("api/sign_up", body={"code": code, "email": "grace@example.org"}, headers=AUTH)
    event["requestContext"]["requestId"] = SIGNUP_REQUEST
    response = api.handler(event, LambdaContext())
    assert response["statusCode"] in (200, 201), response
    return json_body(response)


def generic_webhook(hook_id: str, code: str) -> dict[str, Any]:
    """A payment reported to the generic webhook as the request WEBHOOK_REQUEST."""
    event = http_event(
        "inbound_webhook/generic_get",
        path=f"/hooks/generic/{hook_id}",
        path_parameters={"hook_id": hook_id},
        query={"code": code, "event_id": "inv_1", "amount": "79.00", "currency": "USD"},
    )
    event["requestContext"]["requestId"] = WEBHOOK_REQUEST
    response = inbound_webhook.handler(event, LambdaContext())
    assert response["statusCode"] == 202, response
    return json_body(response)


def lines_of(logs: Logs, message: str) -> list[dict[str, Any]]:
    return [line for line in logs() if line.get("message") == message]


def issue_rewards_for(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [issue_reward.handler(event, LambdaContext()) for event in events]


# ------------------------------------------------------------------------------- correlation id


def test_a_webhook_requests_id_is_in_the_logs_of_qualify_and_issue_reward(
    stack: AwsStack, logs: Logs
) -> None:
    campaign = create_campaign()
    referral = signed_up(enrol(campaign["id"])["code"])

    generic_webhook(hook_id_of(campaign), referral["referral_code"])
    run_qualify(stack)
    [qualified_event] = stack.captured_events()
    outcomes = issue_rewards_for([qualified_event])

    [stored] = lines_of(logs, "signal stored")
    [processed] = lines_of(logs, "signal processed")
    [rewarded] = lines_of(logs, "reward processed")
    assert stored["correlation_id"] == WEBHOOK_REQUEST
    assert (processed["correlation_id"], processed["outcome"]) == (WEBHOOK_REQUEST, "qualified")
    assert qualified_event["detail"]["correlation_id"] == WEBHOOK_REQUEST
    assert (rewarded["correlation_id"], rewarded["outcome"]) == (WEBHOOK_REQUEST, "issued")
    assert outcomes == [{"referral_id": referral["id"], "outcome": "issued"}]
    [signal] = stack.items_of("signal")
    assert signal["correlation_id"] == WEBHOOK_REQUEST


def test_a_signups_id_follows_the_new_referral_to_its_announcement_and_delivery(
    stack: AwsStack, logs: Logs
) -> None:
    delivery = wire_event_delivery(stack.template)
    referral = signed_up(enrol(create_campaign()["id"])["code"])

    announce_referrals.handler(delivery.stream_batch(), LambdaContext("announce_referrals"))
    [created] = delivery.bus_events()
    deliver_events.handler(created, LambdaContext("deliver_events"))

    [item] = stack.items_of("referral")
    assert item["correlation_id"] == SIGNUP_REQUEST
    [recorded] = lines_of(logs, "referral recorded")
    [announced] = lines_of(logs, "referral announced")
    [delivered] = lines_of(logs, "event delivered")
    assert recorded["correlation_id"] == SIGNUP_REQUEST
    assert (announced["correlation_id"], announced["referral_id"]) == (SIGNUP_REQUEST, referral["id"])
    assert created["detail"]["correlation_id"] == SIGNUP_REQUEST
    assert delivered["correlation_id"] == SIGNUP_REQUEST


def test_a_signal_stored_before_correlation_ids_is_still_qualified(stack: AwsStack, logs: Logs) -> None:
    campaign = create_campaign()
    referral = signed_up(enrol(campaign["id"])["code"])
    generic_webhook(hook_id_of(campaign), referral["referral_code"])
    batch = stack.stream_batch()
    for record in batch["Records"]:
        del record["dynamodb"]["NewImage"]["correlation_id"]  # as an item written before the field

    assert qualify.handler(batch, LambdaContext())["batchItemFailures"] == []

    [processed] = lines_of(logs, "signal processed")
    assert (processed["outcome"], processed.get("correlation_id")) == ("qualified", None)
    [event] = stack.captured_events()
    assert event["detail"]["correlation_id"] is None
    assert issue_rewards_for([event]) == [{"referral_id": referral["id"], "outcome": "issued"}]


# ------------------------------------------------------------------------------------ metrics


def test_the_business_counts_are_emitted_as_emf(stack: AwsStack, capsys: pytest.CaptureFixture[str]) -> None:
    campaign = create_campaign()
    advocate = enrol(campaign["id"])
    capsys.readouterr()

    assert click(advocate["code"])["statusCode"] == 302
    clicks = counted(capsys.readouterr().out, "Clicks")
    referral = signed_up(advocate["code"])
    signups = counted(capsys.readouterr().out, "Signups")
    signed_up(advocate["code"])  # the same person again: the first referral stands, nothing new
    signups_again = counted(capsys.readouterr().out, "Signups")
    generic_webhook(hook_id_of(campaign), referral["referral_code"])
    accepted = counted(capsys.readouterr().out, "SignalsAccepted")
    run_qualify(stack)
    qualified = counted(capsys.readouterr().out, "ReferralsQualified")
    run_issue_reward(stack)
    rewarded = counted(capsys.readouterr().out, "ReferralsRewarded")

    assert [(c["value"], c["dimensions"]) for c in clicks] == [(1, [["service"]])]
    assert [s["value"] for s in signups] == [1.0]
    assert signups_again == []
    assert [(a["value"], a["line"]["source"]) for a in accepted] == [(1.0, "generic")]
    assert [sorted(d) for d in accepted[0]["dimensions"]] == [["service", "source"]]
    assert [q["value"] for q in qualified] == [1.0]
    assert [r["value"] for r in rewarded] == [1.0]


def test_a_refund_counts_as_reversed(stack: AwsStack, capsys: pytest.CaptureFixture[str]) -> None:
    campaign = create_campaign()
    referral = signed_up(enrol(campaign["id"])["code"])
    generic_webhook(hook_id_of(campaign), referral["referral_code"])
    run_qualify(stack)
    stack.captured_events()
    capsys.readouterr()

    refund = Signal(  # stored as a vendor's refund would be
        source="stripe",
        event_id="re_1",
        campaign_id=campaign["id"],
        kind=SignalKind.REVERSE,
        match=SignalMatch(referral_id=referral["id"]),
        received_at=utcnow(),
    )
    assert DynamoSignalInbox(wiring.table()).accept(refund)
    run_qualify(stack)

    [reversed_] = counted(capsys.readouterr().out, "ReferralsReversed")
    assert reversed_["value"] == 1.0


def test_a_forged_vendor_webhook_counts_as_refused_by_source_and_reason(
    stack: AwsStack, capsys: pytest.CaptureFixture[str]
) -> None:
    campaign = create_campaign()
    connection = create_connection(campaign["id"], source="zapier")
    capsys.readouterr()

    response = vendor_hook(connection["hook_url"], "{}", headers={"x-referrals-secret": "not-the-secret"})

    assert response["statusCode"] == 401
    [refused] = counted(capsys.readouterr().out, "SignalsRefused")
    assert (refused["value"], refused["line"]["source"], refused["line"]["reason"]) == (
        1.0,
        "zapier",
        json_body(response)["error"]["code"],
    )
    assert sorted(refused["dimensions"][0]) == ["reason", "service", "source"]


def test_a_vendor_webhooks_signal_carries_its_request_id_and_counts_for_its_source(
    stack: AwsStack, capsys: pytest.CaptureFixture[str]
) -> None:
    connection = create_connection(create_campaign()["id"], source="zapier")
    body = {"event_id": "zap_1", "event": "qualify", "external_id": "zapier:crm_1"}
    capsys.readouterr()

    secret = {"x-referrals-secret": connection["secret"]}

    response = vendor_hook(connection["hook_url"], json.dumps(body), secret)

    assert (response["statusCode"], json_body(response)) == (200, {"accepted": 1})
    [accepted] = counted(capsys.readouterr().out, "SignalsAccepted")
    assert (accepted["value"], accepted["line"]["source"]) == (1.0, "zapier")
    [signal] = stack.items_of("signal")
    assert signal["correlation_id"] == sample("inbound_webhook/vendor_zapier")["requestContext"]["requestId"]
