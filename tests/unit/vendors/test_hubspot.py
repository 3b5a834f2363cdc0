"""HubSpot: signatures (v3, v2, v1) checked against HubSpot's own SDK and documented vectors, the
milestone rule, app webhook batches and the workflow "Send a webhook" action mapped to signals."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hubspot.utils.signature import Signature  # type: ignore[import-untyped]

from referral_engine.domain.models import Connection, SignalKind, SignalMatch
from referral_engine.domain.webhooks import (
    InboundRequest,
    MalformedWebhook,
    StaleWebhook,
    WebhookRefused,
)
from referral_engine.vendors import adapter_for, available
from referral_engine.vendors.hubspot import HubSpotAdapter, signed_uri
from support.fakes import InMemorySignalInbox

SAMPLES = Path(__file__).resolve().parents[3] / "events" / "vendors" / "hubspot"
SECRET = "7b3f54c6-1d0e-4c3b-9a8e-5f2d1c0b9a87"  # an app's client secret
URL = "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/hooks/hubspot/Q9fXw2LmN5pK7wZs1cDfXq3v"
NOW = datetime(2026, 11, 23, 20, 15, 4, 123000, tzinfo=UTC)
CONTACT_CUSTOMER = {"object": "contact", "property": "lifecyclestage", "value": "customer"}
DEAL_WON = {"object": "deal", "property": "dealstage", "value": "closedwon"}
# HubSpot's own examples on https://developers.hubspot.com/docs/api/webhooks/validating-requests
DOCS_SECRET = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"
DOCS_BATCH = (
    '[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,'
    '"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,"changeSource":"CRM",'
    '"changeFlag":"NEW","appId":54321}]'
)

adapter = HubSpotAdapter()


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def millis(at: datetime) -> str:
    return str(int(at.timestamp() * 1000))


def connection(milestone: dict[str, Any] | None = None, settings: dict[str, Any] | None = None) -> Connection:
    return Connection(
        id="con_hubspot",
        campaign_id="cmp_1",
        source="hubspot",
        hook_id="Q9fXw2LmN5pK7wZs1cDfXq3v",
        milestone=CONTACT_CUSTOMER if milestone is None else milestone,
        settings=settings or {},
        created_at=NOW,
        secret_rotated_at=NOW,
    )


def request(
    body: bytes, headers: dict[str, str] | None = None, url: str = URL, method: str = "POST"
) -> InboundRequest:
    return InboundRequest(
        method=method,
        url=url,
        headers={name.lower(): value for name, value in (headers or {}).items()},
        query={},
        body=body,
        received_at=NOW,
    )


def v3_headers(
    body: bytes, *, uri: str = URL, secret: str = SECRET, at: datetime = NOW, method: str = "POST"
) -> dict[str, str]:
    """What HubSpot sends, signed by HubSpot's SDK over the URI as HubSpot signs it."""
    timestamp = millis(at)
    signature = Signature.get_signature(secret, body.decode(), "v3", uri, method, timestamp)
    return {"X-HubSpot-Signature-v3": signature, "X-HubSpot-Request-Timestamp": timestamp}


def legacy_headers(body: bytes, version: str, *, secret: str = SECRET, uri: str = URL) -> dict[str, str]:
    signature = Signature.get_signature(secret, body.decode(), version, uri, "POST")
    return {"X-HubSpot-Signature": signature, "X-HubSpot-Signature-Version": version}


# ------------------------------------------------------------------------------------ signatures
def test_the_registry_serves_this_adapter() -> None:
    assert isinstance(adapter_for("hubspot"), HubSpotAdapter)
    assert "hubspot" in available()
    assert adapter.source == "hubspot"


@pytest.mark.parametrize("version", ["v3", "v2", "v1"])
def test_a_call_signed_by_hubspots_sdk_passes(version: str) -> None:
    body = sample("app_webhook_contact_customer.json")
    headers = v3_headers(body) if version == "v3" else legacy_headers(body, version)

    adapter.verify(request(body, headers), SECRET, connection())


@pytest.mark.parametrize(
    ("headers", "body", "url", "method"),
    [
        (
            {"X-HubSpot-Signature": "232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de"},
            DOCS_BATCH,
            "https://www.example.com/webhook_uri",
            "POST",
        ),
        (
            {"X-HubSpot-Signature": "eee2dddcc73c94d699f5e395f4b9d454a069a6855fbfa152e91e88823087200e"},
            "",
            "https://www.example.com/webhook_uri",
            "GET",
        ),
        (
            {"X-HubSpot-Signature": "9569219f8ba981ffa6f6f16aa0f48637d35d728c7e4d93d0d52efaa512af7900"},
            '{"example_field":"example_value"}',
            "https://www.example.com/webhook_uri",
            "POST",
        ),
    ],
    ids=["v1-batch", "v2-get", "v2-post"],
)
def test_hubspots_documented_v1_and_v2_examples_pass(
    headers: dict[str, str], body: str, url: str, method: str
) -> None:
    version = "v1" if body == DOCS_BATCH else "v2"
    signed = request(body.encode(), {**headers, "X-HubSpot-Signature-Version": version}, url, method)
    adapter.verify(signed, DOCS_SECRET, connection())


@pytest.mark.parametrize(("escape", "char"), [("%3A", ":"), ("%2F", "/"), ("%3F", "?"), ("%40", "@"),
    ("%21", "!"), ("%24", "$"), ("%27", "'"), ("%28", "("), ("%29", ")"), ("%2A", "*"), ("%2C", ","),
    ("%3B", ";"), ("%3a", ":"), ("%2c", ",")])  # fmt: skip
def test_v3_signs_the_uri_with_hubspots_listed_escapes_decoded(escape: str, char: str) -> None:
    called = f"{URL}?utm_source=hub{escape}spot&next=a%20b"
    as_signed = f"{URL}?utm_source=hub{char}spot&next=a%20b"  # %20 is not on HubSpot's list
    body = sample("app_webhook_contact_customer.json")

    adapter.verify(request(body, v3_headers(body, uri=as_signed), called), SECRET, connection())

    assert signed_uri(called) == as_signed
    with pytest.raises(WebhookRefused):
        adapter.verify(request(body, v3_headers(body, uri=called), called), SECRET, connection())


def test_v2_signs_the_uri_exactly_as_called() -> None:
    called = f"{URL}?utm_source=hub%3Aspot"
    body = sample("workflow_deal_custom_body.json")
    adapter.verify(request(body, legacy_headers(body, "v2", uri=called), called), SECRET, connection())
    decoded = legacy_headers(body, "v2", uri=signed_uri(called))
    with pytest.raises(WebhookRefused):
        adapter.verify(request(body, decoded, called), SECRET, connection())


@pytest.mark.parametrize("version", ["v3", "v2", "v1"])
def test_a_tampered_body_is_refused(version: str) -> None:
    body = sample("app_webhook_contact_customer.json")
    headers = v3_headers(body) if version == "v3" else legacy_headers(body, version)
    tampered = body.replace(b'"objectId":1246965', b'"objectId":1246966')
    assert tampered != body
    with pytest.raises(WebhookRefused, match="does not match"):
        adapter.verify(request(tampered, headers), SECRET, connection())


@pytest.mark.parametrize("version", ["v3", "v2", "v1"])
def test_a_wrong_secret_is_refused(version: str) -> None:
    body = sample("app_webhook_contact_customer.json")
    other = "0f9e8d7c-6b5a-4938-2716-05f4e3d2c1b0"
    headers = (
        v3_headers(body, secret=other) if version == "v3" else legacy_headers(body, version, secret=other)
    )
    with pytest.raises(WebhookRefused, match="does not match"):
        adapter.verify(request(body, headers), SECRET, connection())


def test_v2_binds_the_method_and_uri_and_v3_too() -> None:
    body = sample("workflow_deal_custom_body.json")
    elsewhere = URL.replace("Q9fXw2LmN5pK7wZs1cDfXq3v", "another-hook-id-123456")
    with pytest.raises(WebhookRefused):
        adapter.verify(request(body, legacy_headers(body, "v2", uri=elsewhere)), SECRET, connection())
    with pytest.raises(WebhookRefused):
        adapter.verify(request(body, v3_headers(body, uri=elsewhere)), SECRET, connection())
    with pytest.raises(WebhookRefused):
        adapter.verify(request(body, v3_headers(body, method="PUT")), SECRET, connection())


@pytest.mark.parametrize(
    ("offset", "passes"),
    [
        (timedelta(minutes=-6), False),
        (timedelta(minutes=-5, seconds=-1), False),
        (timedelta(minutes=-4, seconds=-59), True),
        (timedelta(0), True),
        (timedelta(minutes=4), True),
        (timedelta(minutes=6), False),  # from the future: a wrong clock or a forged timestamp
    ],
)
def test_v3_refuses_a_timestamp_more_than_five_minutes_off(offset: timedelta, passes: bool) -> None:
    body = sample("app_webhook_contact_customer.json")
    signed = request(body, v3_headers(body, at=NOW + offset))
    if passes:
        adapter.verify(signed, SECRET, connection())
    else:
        with pytest.raises(StaleWebhook):
            adapter.verify(signed, SECRET, connection())


def test_the_sdk_agrees_a_stale_v3_timestamp_is_refused() -> None:
    from hubspot.exceptions import InvalidSignatureTimestampError  # type: ignore[import-untyped]

    body = sample("app_webhook_contact_customer.json")
    stale = v3_headers(body, at=datetime.now(UTC) - timedelta(minutes=6))  # the SDK reads the clock
    with pytest.raises(InvalidSignatureTimestampError):
        Signature.is_valid(
            stale["X-HubSpot-Signature-v3"], SECRET, body.decode(), URL, "POST", "v3",
            stale["X-HubSpot-Request-Timestamp"],
        )  # fmt: skip


def test_a_restamped_v3_call_is_refused() -> None:
    """Replaying a captured call with a fresh timestamp breaks its signature."""
    body = sample("app_webhook_contact_customer.json")
    captured = v3_headers(body, at=NOW - timedelta(hours=1))
    restamped = {**captured, "X-HubSpot-Request-Timestamp": millis(NOW)}
    with pytest.raises(WebhookRefused, match="does not match"):
        adapter.verify(request(body, restamped), SECRET, connection())


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-HubSpot-Signature-v3": "c2lnbmF0dXJl"},
        {"X-HubSpot-Signature-v3": "c2lnbmF0dXJl", "X-HubSpot-Request-Timestamp": "yesterday"},
        {"X-HubSpot-Signature-v3": "c2lnbmF0dXJl", "X-HubSpot-Request-Timestamp": "9" * 40},
        {"X-HubSpot-Signature": "00" * 32},
        {"X-HubSpot-Signature": "00" * 32, "X-HubSpot-Signature-Version": "v4"},
        {"X-HubSpot-Signature-Version": "v1"},
    ],
    ids=["none", "v3-no-timestamp", "v3-bad-timestamp", "v3-huge-timestamp", "no-version", "v4", "no-sig"],
)
def test_calls_without_a_usable_signature_are_refused(headers: dict[str, str]) -> None:
    with pytest.raises(WebhookRefused):
        adapter.verify(request(b"[]", headers), SECRET, connection())


def test_a_bad_v3_signature_does_not_fall_back_to_v1() -> None:
    body = sample("app_webhook_contact_customer.json")
    headers = {
        **legacy_headers(body, "v1"),
        "X-HubSpot-Signature-v3": "Zm9yZ2Vk",
        "X-HubSpot-Request-Timestamp": millis(NOW),
    }
    with pytest.raises(WebhookRefused):
        adapter.verify(request(body, headers), SECRET, connection())


@pytest.mark.parametrize("version", ["v2", "v1"])
def test_require_v3_refuses_the_timestampless_signatures(version: str) -> None:
    body = sample("app_webhook_contact_customer.json")
    strict = connection(settings={"require_v3": True})
    with pytest.raises(WebhookRefused, match="only signed v3"):
        adapter.verify(request(body, legacy_headers(body, version)), SECRET, strict)
    adapter.verify(request(body, v3_headers(body)), SECRET, strict)


# ------------------------------------------------------------------------------- the milestone
@pytest.mark.parametrize(
    ("milestone", "settings"),
    [
        (CONTACT_CUSTOMER, {}),
        (DEAL_WON, {}),
        ({"object": "deal", "property": "dealstage", "value": ["closedwon", "148721392"]}, {}),
        (CONTACT_CUSTOMER, {"portal_id": 62515, "require_v3": True, "code_property": "ref_code"}),
    ],
)
def test_valid_connections(milestone: dict[str, Any], settings: dict[str, Any]) -> None:
    adapter.validate_connection(milestone, settings)


def test_a_numeric_stage_id_in_the_milestone_matches_hubspots_string() -> None:
    milestone = {"object": "deal", "property": "dealstage", "value": [148721392, "closedwon"]}
    adapter.validate_connection(milestone, {})
    event = {
        **json.loads(sample("app_webhook_deal_closedwon.json"))[0],
        "propertyValue": "148721392",
    }
    [signal] = adapter.normalise(request(json.dumps([event]).encode()), connection(milestone)).signals
    assert signal.match.external_id == "hubspot_deal:17208465803"


def test_milestone_values_and_event_ids_are_read_as_text() -> None:
    milestone = {"object": "deal", "property": "dealstage", "value": [" closedwon ", 148721392]}
    events = json.loads(sample("app_webhook_deal_closedwon.json"))
    as_numbers = {**events[0], "propertyValue": 148721392, "objectId": "17208465803"}
    normalised = adapter.normalise(
        request(json.dumps([events[0], as_numbers]).encode()), connection(milestone)
    )
    assert [signal.match.external_id for signal in normalised.signals] == ["hubspot_deal:17208465803"] * 2


def test_an_event_that_is_not_an_object_is_ignored_with_the_reason() -> None:
    normalised = adapter.normalise(request(b'[7, {"objectId": -1}]'), connection())
    assert normalised.signals == []
    assert normalised.ignored == [
        "event 0: not a HubSpot webhook event (event: Expected `object`, got `int`)",
        "event 1: not a HubSpot webhook event (objectId: Expected `str`, got `int`)",
    ]


@pytest.mark.parametrize(
    ("milestone", "settings", "message"),
    [
        ({}, {}, "needs a milestone"),
        ({"object": "company", "property": "lifecyclestage", "value": "customer"}, {}, "object"),
        ({"object": "contact", "property": "lifecyclestage"}, {}, "value"),
        ({"object": "contact", "property": "lifecyclestage", "value": " "}, {}, "value"),
        ({"object": "contact", "property": "lifecyclestage", "value": []}, {}, "value"),
        ({"object": "contact", "property": "life cycle", "value": "customer"}, {}, "property"),
        ({**CONTACT_CUSTOMER, "stage": "won"}, {}, "stage"),
        (CONTACT_CUSTOMER, {"portal_id": -1}, "portal_id"),
        (CONTACT_CUSTOMER, {"organization_id": "00D"}, "organization_id"),
    ],
)
def test_invalid_connections_are_refused_with_a_reason(
    milestone: dict[str, Any], settings: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        adapter.validate_connection(milestone, settings)


# ---------------------------------------------------------------------------- app webhook batches
def test_the_milestone_property_change_becomes_a_qualify_signal() -> None:
    body = sample("app_webhook_contact_customer.json")

    normalised = adapter.normalise(request(body), connection())

    [signal] = normalised.signals
    assert signal.source == "hubspot"
    assert signal.kind is SignalKind.QUALIFY
    assert signal.campaign_id == "cmp_1"
    assert signal.match == SignalMatch(external_id="hubspot:1246965")
    assert signal.event_id == "33-25-3816279340-1462216307945"  # portal-subscription-event-occurredAt
    assert signal.occurred_at == datetime(2016, 5, 2, 19, 11, 47, 945000, tzinfo=UTC)
    assert signal.received_at == NOW
    assert len(normalised.ignored) == 2  # the lead status change and the contact creation


def test_hubspots_documented_batch_with_eventtype_is_read() -> None:
    normalised = adapter.normalise(
        request(sample("app_webhook_docs_example.json")),
        connection({"object": "contact", "property": "lifecyclestage", "value": "subscriber"}),
    )
    assert [s.match.external_id for s in normalised.signals] == ["hubspot:1246965"]
    assert [s.event_id for s in normalised.signals] == ["33-25-3816279340-1462216307945"]
    assert len(normalised.ignored) == 1


def test_other_values_properties_and_objects_are_ignored() -> None:
    body = sample("app_webhook_docs_example.json")  # lifecyclestage → subscriber, a creation
    assert adapter.normalise(request(body), connection()).signals == []
    assert adapter.normalise(request(body), connection(DEAL_WON)).signals == []


def test_a_deal_reaching_the_stage_qualifies_and_one_moving_back_does_not() -> None:
    normalised = adapter.normalise(request(sample("app_webhook_deal_closedwon.json")), connection(DEAL_WON))

    assert [s.match.external_id for s in normalised.signals] == ["hubspot_deal:17208465803"]
    assert normalised.ignored == ["event 1: dealstage changed to a value that is not the milestone's"]


def test_the_developer_platforms_object_property_change_is_read_by_object_type() -> None:
    body = sample("app_webhook_object_property_change.json")
    [signal] = adapter.normalise(request(body), connection(DEAL_WON)).signals
    assert signal.match.external_id == "hubspot_deal:38126712995"
    assert adapter.normalise(request(body), connection()).signals == []  # a contact milestone


def test_a_batch_of_several_milestone_events_gives_one_signal_each() -> None:
    events = [
        {
            "eventId": 100 + n,
            "subscriptionId": 25,
            "portalId": 33,
            "occurredAt": 1735742400000 + n,
            "subscriptionType": "contact.propertyChange",
            "attemptNumber": 0,
            "objectId": 500 + n,
            "propertyName": "LifecycleStage",  # property names compare without case
            "propertyValue": "customer",
        }
        for n in range(3)
    ]
    normalised = adapter.normalise(request(json.dumps(events).encode()), connection())
    assert [s.match.external_id for s in normalised.signals] == ["hubspot:500", "hubspot:501", "hubspot:502"]
    assert len({s.event_id for s in normalised.signals}) == 3


def test_hubspots_reused_event_ids_stay_apart_and_retries_collapse() -> None:
    """eventId is not unique: the same id at another time or on another subscription is another event;
    a retry (attemptNumber 1) repeats the event and stores nothing new."""
    base = json.loads(sample("app_webhook_contact_customer.json"))[0]
    retry = {**base, "attemptNumber": 1}
    later = {**base, "occurredAt": base["occurredAt"] + 1}
    other_subscription = {**base, "subscriptionId": 99}
    other_portal = {**base, "portalId": 34}
    inbox = InMemorySignalInbox()

    stored = [
        inbox.accept(signal)
        for event in (base, retry, later, other_subscription, other_portal)
        for signal in adapter.normalise(request(json.dumps([event]).encode()), connection()).signals
    ]

    assert stored == [True, False, True, True, True]


def test_a_replayed_call_yields_the_same_signals_so_it_is_stored_once() -> None:
    body = sample("app_webhook_contact_customer.json")
    inbox = InMemorySignalInbox()
    first = [inbox.accept(s) for s in adapter.normalise(request(body), connection()).signals]
    again = [inbox.accept(s) for s in adapter.normalise(request(body), connection()).signals]
    assert (first, again) == ([True], [False])


def test_events_of_another_portal_are_ignored_when_the_connection_names_one() -> None:
    body = sample("app_webhook_contact_customer.json")  # portal 33
    assert adapter.normalise(request(body), connection(settings={"portal_id": 33})).signals
    ignored = adapter.normalise(request(body), connection(settings={"portal_id": 62515}))
    assert ignored.signals == []
    assert ignored.ignored[0] == "event 0: portal 33 is not this connection's portal"


def test_unreadable_events_are_ignored_and_the_rest_of_the_batch_is_kept() -> None:
    good = json.loads(sample("app_webhook_contact_customer.json"))[0]
    batch = [{"subscriptionType": "contact.propertyChange"}, "text", {**good, "objectId": "abc"}, good]
    normalised = adapter.normalise(request(json.dumps(batch).encode()), connection())
    assert len(normalised.signals) == 1
    assert [reason.split(":")[0] for reason in normalised.ignored] == ["event 0", "event 1", "event 2"]


@pytest.mark.parametrize("body", [b"{not json", b'"text"', b"42", b"\xff\xfe"])
def test_an_unreadable_body_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedWebhook):
        adapter.normalise(request(body), connection())


def test_an_empty_batch_is_fine() -> None:
    normalised = adapter.normalise(request(b"[]"), connection())
    assert normalised.signals == []
    assert adapter.reply(normalised).status == 200


def test_the_reply_is_a_200_with_counts() -> None:
    reply = adapter.reply(
        adapter.normalise(request(sample("app_webhook_contact_customer.json")), connection())
    )
    assert (reply.status, json.loads(reply.body)) == (200, {"accepted": 1, "ignored": 2})


# -------------------------------------------------------------------- workflow "Send a webhook"
def test_a_contact_workflow_with_all_properties_qualifies_by_id_code_and_email() -> None:
    [signal] = adapter.normalise(
        request(sample("workflow_contact_all_properties.json")), connection()
    ).signals

    assert signal.match == SignalMatch(
        external_id="hubspot:3234574", code="p4wz8hk2mq7x", email="grace@example.org"
    )
    assert signal.kind is SignalKind.QUALIFY
    assert signal.occurred_at == datetime(2025, 1, 1, 14, 40, tzinfo=UTC)  # when it became customer
    assert signal.event_id.startswith("workflow-contact-3234574-")


def test_a_deal_workflow_with_all_properties_carries_the_amount() -> None:
    body = sample("workflow_deal_all_properties.json")
    [signal] = adapter.normalise(request(body), connection(DEAL_WON)).signals

    assert signal.match == SignalMatch(external_id="hubspot_deal:46789043")
    assert (signal.amount, signal.currency) == (Decimal("1200"), "USD")
    assert signal.occurred_at == datetime(2016, 8, 2, 13, 47, 53, 676000, tzinfo=UTC)


def test_a_customised_flat_body_is_read_the_same_way() -> None:
    body = sample("workflow_deal_custom_body.json")
    [signal] = adapter.normalise(request(body), connection(DEAL_WON)).signals
    [full] = adapter.normalise(
        request(sample("workflow_deal_all_properties.json")), connection(DEAL_WON)
    ).signals

    assert signal.match == SignalMatch(external_id="hubspot_deal:46789043", code="p4wz8hk2mq7x")
    assert signal.event_id == full.event_id  # the same record reaching the same value: one event
    assert signal.occurred_at is None


def test_the_crm_v3_object_shape_is_read() -> None:
    body = json.dumps(
        {"id": "512", "properties": {"lifecyclestage": "customer", "email": "Grace@Example.org"}}
    )
    [signal] = adapter.normalise(request(body.encode()), connection()).signals
    assert signal.match == SignalMatch(external_id="hubspot:512", email="grace@example.org")


def test_a_workflow_call_for_another_value_is_ignored() -> None:
    body = json.dumps({"hs_object_id": "51", "lifecyclestage": "lead"}).encode()
    normalised = adapter.normalise(request(body), connection())
    assert normalised.signals == []
    assert normalised.ignored == ["lifecyclestage is not at a milestone value"]


def test_a_workflow_body_without_the_milestone_property_is_malformed() -> None:
    body = json.dumps({"hs_object_id": "51", "email": "grace@example.org"}).encode()
    with pytest.raises(MalformedWebhook, match="lifecyclestage"):
        adapter.normalise(request(body), connection())


def test_a_workflow_body_naming_no_record_is_malformed() -> None:
    body = json.dumps({"lifecyclestage": "customer", "email": "not an email"}).encode()
    with pytest.raises(MalformedWebhook, match="names no record"):
        adapter.normalise(request(body), connection())


def test_a_workflow_body_with_only_an_email_keeps_the_email_out_of_the_event_id() -> None:
    body = json.dumps({"lifecyclestage": "customer", "email": "grace@example.org"}).encode()
    [signal] = adapter.normalise(request(body), connection()).signals
    assert signal.match == SignalMatch(email="grace@example.org")
    assert "grace" not in signal.event_id


def test_the_code_property_is_configurable() -> None:
    body = json.dumps({"lifecyclestage": "customer", "ref_code": "P4WZ8HK2MQ7X"}).encode()
    [signal] = adapter.normalise(request(body), connection(settings={"code_property": "ref_code"})).signals
    assert signal.match == SignalMatch(code="p4wz8hk2mq7x")


def test_a_workflow_call_from_another_portal_is_ignored() -> None:
    body = sample("workflow_contact_all_properties.json")  # portal-id 62515
    assert adapter.normalise(request(body), connection(settings={"portal_id": 33})).signals == []
    assert adapter.normalise(request(body), connection(settings={"portal_id": 62515})).signals


# ---------------------------------------------------------------- milestones undone (docs/adr/0021)
UNDONE = {"reverse_when_undone": True}


def lost_deal_batch() -> bytes:
    """HubSpot's deal.propertyChange as documented: the new `propertyValue` only, no previous value."""
    [won, _] = json.loads(sample("app_webhook_deal_closedwon.json"))
    lost = {**won, "eventId": 1912379001, "occurredAt": won["occurredAt"] + 86_400_000}
    lost["propertyValue"] = "closedlost"
    return json.dumps([won, lost]).encode()


def test_a_deal_moved_off_the_won_stage_reverses_when_the_connection_asks() -> None:
    normalised = adapter.normalise(request(lost_deal_batch()), connection(DEAL_WON, UNDONE))

    won, lost = normalised.signals
    assert (won.kind, lost.kind) == (SignalKind.QUALIFY, SignalKind.REVERSE)
    assert lost.match.external_id == won.match.external_id == "hubspot_deal:17208465803"
    assert lost.event_id != won.event_id
    assert (
        lost.reason
        == "HubSpot deal 17208465803: dealstage moved to closedlost, off the milestone (closedwon)"
    )
    assert lost.occurred_at == datetime(2025, 1, 2, 14, 40, tzinfo=UTC)
    assert normalised.ignored == []


def test_without_the_setting_a_deal_moved_off_the_stage_is_only_ignored() -> None:
    normalised = adapter.normalise(request(lost_deal_batch()), connection(DEAL_WON))
    assert [signal.kind for signal in normalised.signals] == [SignalKind.QUALIFY]
    assert normalised.ignored == ["event 1: dealstage changed to a value that is not the milestone's"]


def test_values_that_still_count_are_not_undone() -> None:
    body = sample("app_webhook_contact_customer.json").replace(b'"customer"', b'"evangelist"')
    milestone = {**CONTACT_CUSTOMER, "value": ["customer", "evangelist"]}
    [signal] = adapter.normalise(request(body), connection(milestone, UNDONE)).signals
    assert signal.kind is SignalKind.QUALIFY


def test_a_workflow_body_for_a_lost_deal_reverses_when_the_connection_asks() -> None:
    body = sample("workflow_deal_custom_body.json").replace(b'"closedwon"', b'"closedlost"')

    [signal] = adapter.normalise(request(body), connection(DEAL_WON, UNDONE)).signals
    ignored = adapter.normalise(request(body), connection(DEAL_WON)).ignored

    assert signal.kind is SignalKind.REVERSE
    assert signal.match.external_id == "hubspot_deal:46789043"
    assert signal.event_id.endswith("-undone")
    assert "closedlost" in (signal.reason or "")
    assert ignored == ["dealstage is not at a milestone value"]


def test_reverse_when_undone_must_be_a_boolean() -> None:
    adapter.validate_connection(DEAL_WON, UNDONE)
    with pytest.raises(ValueError, match="reverse_when_undone"):
        adapter.validate_connection(DEAL_WON, {"reverse_when_undone": "yes"})
