"""Zapier subscriptions (its REST Hooks) end to end, in process: subscribe through the API, let the
table's stream and the bus produce their events (filtered and matched by the template's own
FilterCriteria and rule pattern), run announce_referrals and deliver_events on them, and watch what a
real HTTP server on 127.0.0.1 receives."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

import announce_referrals
import api
import deliver_events
from referral_engine.domain.subscriptions import DELIVERY_ID_HEADER, EVENT_HEADER
from referral_engine.services.deliveries import DeliveryIncomplete
from support.aws import AwsStack, DeliveryWiring, reset_caches, wire_event_delivery
from support.events import LambdaContext, http_event, json_body
from support.journey import (
    AUTH,
    call_api,
    create_campaign,
    enrol,
    qualify_via_api,
    run_qualify,
    sign_up,
)
from support.receiver import Receiver, receiving

LOCAL_BASE = "http://127.0.0.1:3000"  # the local stack's own URL: loopback targets are allowed


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as receiver:
        yield receiver


# ------------------------------------------------------------------- the stream and the bus, as wired


@dataclass
class DeliveryPipeline:
    stack: AwsStack
    wiring: DeliveryWiring

    def announce(self) -> dict[str, Any]:
        """announce_referrals on the stream records written so far that pass its FilterCriteria."""
        batch = self.wiring.stream_batch()
        result = announce_referrals.handler(batch, LambdaContext("announce_referrals"))
        return {"records": batch["Records"], **result}

    def bus_events(self) -> list[dict[str, Any]]:
        return self.wiring.bus_events()

    def deliver(self, events: list[dict[str, Any]]) -> list[dict[str, Any] | Exception]:
        """deliver_events on each event, as its asynchronous invocations; an error is what Lambda retries."""
        outcomes: list[dict[str, Any] | Exception] = []
        for event in events:
            try:
                outcomes.append(deliver_events.handler(event, LambdaContext("deliver_events")))
            except DeliveryIncomplete as error:
                outcomes.append(error)
        return outcomes

    def flow(self) -> list[dict[str, Any] | Exception]:
        """Everything so far: announce new referrals, then deliver what the bus routed to the function."""
        self.announce()
        return self.deliver(self.bus_events())


@pytest.fixture
def pipeline(stack: AwsStack) -> DeliveryPipeline:
    return DeliveryPipeline(stack, wire_event_delivery(stack.template))


@pytest.fixture
def local(pipeline: DeliveryPipeline, monkeypatch: pytest.MonkeyPatch) -> DeliveryPipeline:
    """As on the local stack, whose API is served from loopback: loopback targets are allowed."""
    monkeypatch.setenv("PUBLIC_BASE_URL", LOCAL_BASE)
    reset_caches()
    return pipeline


# ----------------------------------------------------------------------------------- API helpers


def subscribe(target_url: str, event: str, campaign_id: str | None = None, **headers: str) -> dict[str, Any]:
    body: dict[str, Any] = {"target_url": target_url, "event": event}
    if campaign_id is not None:
        body["campaign_id"] = campaign_id
    return call_api("subscribe_hook", body=body, headers=headers)


def unsubscribe(subscription_id: str) -> dict[str, Any]:
    return call_api(
        "unsubscribe_hook",
        path=f"/v1/hooks/subscriptions/{subscription_id}",
        path_parameters={"subscription_id": subscription_id},
    )


def samples(event: str, **query: str) -> dict[str, Any]:
    request = http_event(
        "api/hook_samples",
        path=f"/v1/hooks/samples/{event}",
        path_parameters={"event": event},
        query=query,
        headers=AUTH,
    )
    return api.handler(request, LambdaContext())


def a_referral(email: str = "grace@example.org") -> dict[str, Any]:
    campaign = create_campaign()
    advocate = enrol(campaign["id"])
    return {"campaign": campaign, "advocate": advocate, "referral": sign_up(advocate["code"], email)}


# ----------------------------------------------------------------------------------------- tests


def test_a_zap_hears_of_a_new_referral_and_of_its_qualification_once(
    local: DeliveryPipeline, receiver: Receiver
) -> None:
    campaign = create_campaign()
    created_subscription = subscribe(receiver.url("/zap/new"), "referral.created", campaign["id"])
    qualified_subscription = subscribe(receiver.url("/zap/qualified"), "referral.qualified", campaign["id"])
    assert (created_subscription["statusCode"], qualified_subscription["statusCode"]) == (201, 201)
    subscription = json_body(created_subscription)
    assert set(subscription) == {"id", "event", "campaign_id", "target_url", "created_at"}
    assert subscription["target_url"] == receiver.url("/zap/new")
    advocate = enrol(campaign["id"])

    # Given a new referral, when its INSERT reaches announce_referrals through the stream...
    referral = sign_up(advocate["code"], "grace@example.org", name="Grace")
    announced = local.announce()
    assert len(announced["records"]) == 1  # the filter passes the referral INSERT alone
    assert announced["batchItemFailures"] == []
    events = local.bus_events()
    assert [e["detail-type"] for e in events] == ["referral.created"]
    # ...and the referral.created event it announced comes back through the bus rule:
    [outcome] = local.deliver(events)

    # Then the zap received it once, as the delivery's JSON.
    [new] = receiver.at("/zap/new")
    assert outcome == {
        "event": "referral.created",
        "referral_id": referral["id"],
        "delivered": 1,
        "already_delivered": 0,
        "removed": 0,
        "failed": 0,
    }
    assert new.payload["id"] == referral["id"]
    assert new.payload["event"] == "referral.created"
    assert new.payload["status"] == "pending"
    assert new.payload["referred"] == {
        "code": referral["referral_code"],
        "email": "grace@example.org",
        "name": "Grace",
        "external_ids": {},
    }
    assert new.payload["advocate"] == {
        "code": advocate["code"],
        "email": "ada@example.com",
        "name": "Ada",
        "external_ids": {},
    }
    assert new.payload["share_url"] == f"{LOCAL_BASE}/r/{referral['referral_code']}"
    assert new.headers["content-type"] == "application/json"
    assert new.headers[EVENT_HEADER.lower()] == "referral.created"
    assert new.headers[DELIVERY_ID_HEADER.lower()].startswith("dlv_")
    assert receiver.at("/zap/qualified") == []

    # When the referral qualifies, the bus's referral.qualified reaches the other zap.
    assert qualify_via_api(referral["id"], event_id="inv_1")["statusCode"] == 202
    assert run_qualify(local.stack)["batchItemFailures"] == []
    qualified_events = local.bus_events()
    assert [e["detail-type"] for e in qualified_events] == ["referral.qualified"]
    local.deliver(qualified_events)
    [qualified] = receiver.at("/zap/qualified")
    assert qualified.payload["id"] == referral["id"]
    assert qualified.payload["event"] == "referral.qualified"
    assert qualified.payload["qualified_at"] is not None

    # A redelivered event (a rule retry, a republish) is not posted again.
    [again] = local.deliver(qualified_events)
    assert again == {**outcome, "event": "referral.qualified", "delivered": 0, "already_delivered": 1}
    assert len(receiver.received) == 2
    assert len(local.stack.items_of("hook_delivery")) == 2


def test_subscribing_twice_is_one_subscription(local: DeliveryPipeline, receiver: Receiver) -> None:
    first = subscribe(receiver.url("/zap"), "referral.created")
    second = subscribe(receiver.url("/zap"), "referral.created")

    assert (first["statusCode"], second["statusCode"]) == (201, 200)
    assert json_body(first)["id"] == json_body(second)["id"]
    assert json_body(first)["campaign_id"] is None
    assert len(local.stack.items_of("hook_subscription")) == 1


def test_a_subscription_to_every_campaign_hears_of_each(local: DeliveryPipeline, receiver: Receiver) -> None:
    subscribe(receiver.url("/all"), "referral.created")

    one = a_referral("one@example.org")
    two = a_referral("two@example.org")
    local.flow()

    assert sorted(r.payload["id"] for r in receiver.at("/all")) == sorted(
        [one["referral"]["id"], two["referral"]["id"]]
    )


def test_a_target_answering_410_is_dropped(local: DeliveryPipeline, receiver: Receiver) -> None:
    gone = json_body(subscribe(receiver.url("/gone"), "referral.created"))
    subscribe(receiver.url("/kept"), "referral.created")
    receiver.answers["/gone"] = [410]

    a_referral("one@example.org")
    [first] = local.flow()
    a_referral("two@example.org")
    local.flow()

    assert isinstance(first, dict)
    assert (first["delivered"], first["removed"]) == (1, 1)
    assert len(receiver.at("/gone")) == 1
    assert len(receiver.at("/kept")) == 2
    assert gone["id"] not in {item["id"] for item in local.stack.items_of("hook_subscription")}


def test_unsubscribing_stops_deliveries(local: DeliveryPipeline, receiver: Receiver) -> None:
    subscription = json_body(subscribe(receiver.url("/zap"), "referral.created"))
    a_referral("one@example.org")
    local.flow()

    assert unsubscribe(subscription["id"])["statusCode"] == 204
    assert unsubscribe(subscription["id"])["statusCode"] == 204  # Zapier may call it again: not an error
    a_referral("two@example.org")
    local.flow()

    assert len(receiver.at("/zap")) == 1
    assert local.stack.items_of("hook_subscription") == []


def test_a_failing_target_fails_the_invocation_and_its_retry_posts_only_there(
    local: DeliveryPipeline, receiver: Receiver
) -> None:
    failing = json_body(subscribe(receiver.url("/flaky"), "referral.created"))
    subscribe(receiver.url("/fine"), "referral.created")
    receiver.answers["/flaky"] = [500]
    a_referral()
    local.announce()
    events = local.bus_events()

    [error] = local.deliver(events)  # Lambda retries the event...
    [retried] = local.deliver(events)  # ...and this time the flaky target takes it

    assert isinstance(error, DeliveryIncomplete)
    assert list(error.failures) == [failing["id"]]
    assert receiver.url("/flaky") not in str(error)
    assert isinstance(retried, dict)
    assert (retried["delivered"], retried["already_delivered"]) == (1, 1)
    assert len(receiver.at("/fine")) == 1
    first, second = receiver.at("/flaky")
    assert first.headers[DELIVERY_ID_HEADER.lower()] == second.headers[DELIVERY_ID_HEADER.lower()]


def test_a_target_that_stops_listening_fails_the_invocation(
    local: DeliveryPipeline, receiver: Receiver
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    subscribe(f"http://127.0.0.1:{closed}/zap", "referral.created")
    a_referral()

    [error] = local.flow()

    assert isinstance(error, DeliveryIncomplete)
    assert "no answer" in next(iter(error.failures.values()))


@pytest.mark.parametrize(
    ("target_url", "reason"),
    [
        ("http://93.184.215.14/hook", "https"),  # a public host, but not over TLS
        ("https://10.0.0.8/hook", "public address"),
        ("https://169.254.169.254/latest/meta-data/", "public address"),
        ("https://[::1]/hook", "public address"),
        ("https://[::ffff:192.168.0.1]/hook", "public address"),
        ("https://intranet/hook", "fully qualified"),
        ("https://user:pw@93.184.215.14/hook", "credentials"),
        ("ftp://93.184.215.14/hook", "https"),
        ("http://127.0.0.1:8080/hook", "https"),  # loopback only on the local stack
    ],
)
def test_bad_target_urls_are_refused_and_nothing_is_written(
    stack: AwsStack, target_url: str, reason: str
) -> None:
    before = stack.items()

    response = subscribe(target_url, "referral.created")

    assert response["statusCode"] == 400
    error = json_body(response)["error"]
    assert error["code"] == "target_url_refused"
    assert reason in error["message"]
    assert stack.items() == before


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"target_url": "https://93.184.215.14/h", "event": "referral.paid"}, 422, "validation_error"),
        ({"target_url": "https://93.184.215.14/h"}, 422, "validation_error"),
        (
            {"target_url": "https://93.184.215.14/h", "event": "referral.created", "campaign_id": "cmp_x"},
            404,
            "not_found",
        ),
    ],
)
def test_invalid_subscriptions_are_refused_and_nothing_is_written(
    stack: AwsStack, body: dict[str, Any], status: int, code: str
) -> None:
    before = stack.items()
    response = call_api("subscribe_hook", body=body)
    assert (response["statusCode"], json_body(response)["error"]["code"]) == (status, code)
    assert stack.items() == before


def test_the_subscription_routes_need_the_api_key(stack: AwsStack) -> None:
    response = subscribe("https://93.184.215.14/h", "referral.created", authorization="Bearer rk_wrong")
    assert response["statusCode"] == 401
    assert stack.items_of("hook_subscription") == []


def test_perform_list_shows_the_latest_referrals_as_a_delivery_carries_them(
    local: DeliveryPipeline, receiver: Receiver
) -> None:
    given = a_referral()
    campaign_id = given["campaign"]["id"]
    subscribe(receiver.url("/zap"), "referral.created", campaign_id)
    local.flow()

    response = samples("referral.created", campaign_id=campaign_id)

    assert response["statusCode"] == 200
    listed = json.loads(response["body"])
    assert isinstance(listed, list)  # performList wants a bare array
    [delivered] = receiver.at("/zap")
    assert listed == [delivered.payload]


@pytest.mark.parametrize(
    ("event", "status"),
    [("referral.created", "pending"), ("referral.qualified", "qualified"), ("referral.reversed", "reversed")],
)
def test_perform_list_without_referrals_shows_an_example(stack: AwsStack, event: str, status: str) -> None:
    campaign = create_campaign()

    [example] = json.loads(samples(event, campaign_id=campaign["id"])["body"])

    assert (example["id"], example["event"], example["status"]) == ("ref_example", event, status)


def test_perform_list_of_an_unknown_event_or_campaign_is_not_found(stack: AwsStack) -> None:
    assert samples("referral.paid")["statusCode"] == 404
    assert samples("referral.created", campaign_id="cmp_missing")["statusCode"] == 404
    assert samples("referral.created", limit="50")["statusCode"] == 422
