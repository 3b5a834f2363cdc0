"""Stripe: the `Stripe-Signature` check proven against Stripe's own SDK, the connection's milestone
rule, and each event type of the documented samples (events/vendors/stripe/) mapped to signals."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import stripe

from referral_engine.domain.models import Connection, SignalKind, SignalMatch
from referral_engine.domain.records import parse
from referral_engine.domain.webhooks import (
    InboundRequest,
    MalformedWebhook,
    Normalised,
    StaleWebhook,
    WebhookRefused,
)
from referral_engine.vendors import adapter_for
from referral_engine.vendors.stripe import StripeAdapter, StripeMilestone, major_units
from support.fakes import InMemorySignalInbox

SAMPLES = Path(__file__).resolve().parents[3] / "events" / "vendors" / "stripe"
SECRET = "whsec_5ba0cbf2e8e1d9b7a0c3f1e6d2b4a8c9"  # an endpoint's signing secret (test data)
NOW = datetime(2026, 11, 23, 20, 15, 4, tzinfo=UTC)
URL = "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/hooks/stripe/Q9fXw2LmN5pK7wZs1cDfXq3v"

adapter = StripeAdapter()


def sample(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SAMPLES / f"{name}.json").read_text())
    return loaded


def body_of(event: dict[str, Any]) -> bytes:
    return json.dumps(event, indent=2).encode()  # Stripe sends pretty-printed JSON


def sdk_header(payload: bytes, secret: str = SECRET, at: datetime = NOW) -> str:
    """The header as Stripe computes it, by Stripe's own SDK."""
    header: str = stripe.WebhookSignature.generate_signature_header(
        payload.decode(), secret, timestamp=int(at.timestamp())
    )
    return header


def sdk_construct(payload: bytes, header: str) -> stripe.Event:
    """Stripe's own verification and parsing; its tolerance is off, the clock of these tests is fixed."""
    event: stripe.Event = stripe.Webhook.construct_event(payload.decode(), header, SECRET, tolerance=0)
    return event


def request(body: bytes, header: str | None, received_at: datetime = NOW) -> InboundRequest:
    headers = {"content-type": "application/json; charset=utf-8", "user-agent": "Stripe/1.0"}
    if header is not None:
        headers["stripe-signature"] = header
    return InboundRequest(
        method="POST", url=URL, headers=headers, query={}, body=body, received_at=received_at
    )


def connection(milestone: dict[str, Any] | None = None) -> Connection:
    return Connection(
        id="con_stripe",
        campaign_id="cmp_1",
        source="stripe",
        hook_id="Q9fXw2LmN5pK7wZs1cDfXq3v",
        milestone=milestone or {},
        created_at=NOW,
        secret_rotated_at=NOW,
    )


def normalise(event: dict[str, Any], milestone: dict[str, Any] | None = None) -> Normalised:
    return adapter.normalise(request(body_of(event), None), connection(milestone))


def only_signal(event: dict[str, Any], milestone: dict[str, Any] | None = None) -> Any:
    normalised = normalise(event, milestone)
    assert normalised.ignored == []
    [signal] = normalised.signals
    return signal


def ignored(event: dict[str, Any], milestone: dict[str, Any] | None = None) -> str:
    normalised = normalise(event, milestone)
    assert normalised.signals == []
    [reason] = normalised.ignored
    return reason


def with_object(name: str, **changes: Any) -> dict[str, Any]:
    event = copy.deepcopy(sample(name))
    event["data"]["object"].update(changes)
    return event


# ----------------------------------------------------------------------------------- signatures


def test_a_call_signed_by_stripe_is_verified_and_the_sdk_agrees() -> None:
    payload = body_of(sample("invoice.paid"))
    header = sdk_header(payload)

    adapter.verify(request(payload, header), SECRET, connection())

    # The same bytes and header pass Stripe's own verification: our reading of the format is Stripe's.
    event = sdk_construct(payload, header)
    assert event["id"] == "evt_1NG8Du2eZvKYlo2CUI79vXWy"


def test_the_signature_is_over_the_raw_utf8_bytes() -> None:
    event = with_object("invoice.paid", customer_name="José Müller — 山田")
    payload = json.dumps(event, ensure_ascii=False).encode()
    adapter.verify(request(payload, sdk_header(payload)), SECRET, connection())


def test_a_tampered_body_is_refused() -> None:
    payload = body_of(sample("invoice.paid"))
    header = sdk_header(payload)
    tampered = payload.replace(b'"amount_paid": 5000', b'"amount_paid": 9000')
    assert tampered != payload

    with pytest.raises(WebhookRefused) as refused:
        adapter.verify(request(tampered, header), SECRET, connection())
    assert not isinstance(refused.value, StaleWebhook)
    with pytest.raises(stripe.SignatureVerificationError):
        sdk_construct(tampered, header)


def test_another_endpoints_secret_is_refused() -> None:
    payload = body_of(sample("invoice.paid"))
    header = sdk_header(payload, secret="whsec_of_another_endpoint_0000000000")
    with pytest.raises(WebhookRefused):
        adapter.verify(request(payload, header), SECRET, connection())


@pytest.mark.parametrize("seconds", [301, 3600, -301, -3600])
def test_a_timestamp_beyond_five_minutes_either_way_is_stale(seconds: int) -> None:
    payload = body_of(sample("invoice.paid"))
    header = sdk_header(payload, at=NOW - timedelta(seconds=seconds))
    with pytest.raises(StaleWebhook) as stale:
        adapter.verify(request(payload, header), SECRET, connection())
    assert stale.value.code == "stale_timestamp"


@pytest.mark.parametrize("seconds", [0, 299, -299])
def test_a_timestamp_within_five_minutes_is_fresh(seconds: int) -> None:
    payload = body_of(sample("invoice.paid"))
    header = sdk_header(payload, at=NOW - timedelta(seconds=seconds))
    adapter.verify(request(payload, header), SECRET, connection())


def test_a_forged_stale_call_is_refused_as_forged() -> None:
    """The timestamp is part of what is signed: only an authentic call can be called stale."""
    payload = body_of(sample("invoice.paid"))
    header = sdk_header(payload, secret="whsec_wrong", at=NOW - timedelta(hours=1))
    with pytest.raises(WebhookRefused) as refused:
        adapter.verify(request(payload, header), SECRET, connection())
    assert refused.value.code == "signature_invalid"


@pytest.mark.parametrize("header", [None, "", "t=1795468467", "v1=abc", "garbage", "t=abc,v1=00"])
def test_a_missing_or_unreadable_header_is_refused(header: str | None) -> None:
    with pytest.raises(WebhookRefused):
        adapter.verify(request(body_of(sample("invoice.paid")), header), SECRET, connection())


def test_one_matching_v1_among_several_is_enough() -> None:
    """While a secret is rolled, Stripe signs with the old and the new one: one v1 per secret."""
    payload = body_of(sample("invoice.paid"))
    timestamp, good = sdk_header(payload).split(",")
    stale_secret = sdk_header(payload, secret="whsec_rolled_away_00000000000").split(",")[1]
    for header in (f"{timestamp},{stale_secret},{good}", f"{timestamp},{good},{stale_secret}"):
        adapter.verify(request(payload, header), SECRET, connection())
        sdk_construct(payload, header)


def test_a_v0_signature_is_never_trusted() -> None:
    """Test-mode events carry a v0 next to v1; a header with only a (even correct) v0 is refused."""
    payload = body_of(sample("invoice.paid"))
    timestamp, v1 = sdk_header(payload).split(",")
    v0 = v1.replace("v1=", "v0=")
    adapter.verify(request(payload, f"{timestamp},{v1},{v0}"), SECRET, connection())
    with pytest.raises(WebhookRefused):
        adapter.verify(request(payload, f"{timestamp},{v0}"), SECRET, connection())
    with pytest.raises(stripe.SignatureVerificationError):
        sdk_construct(payload, f"{timestamp},{v0}")


def test_whitespace_around_the_header_elements_is_tolerated() -> None:
    payload = body_of(sample("invoice.paid"))
    timestamp, v1 = sdk_header(payload).split(",")
    adapter.verify(request(payload, f" {timestamp} , {v1} "), SECRET, connection())


# -------------------------------------------------------------------------------------- mapping


def test_invoice_paid_qualifies_the_customer_with_the_amount_paid() -> None:
    signal = only_signal(sample("invoice.paid"))

    assert signal.source == "stripe"
    assert signal.event_id == "evt_1NG8Du2eZvKYlo2CUI79vXWy"
    assert signal.kind is SignalKind.QUALIFY
    assert signal.campaign_id == "cmp_1"
    assert (signal.amount, signal.currency) == (Decimal("50.00"), "USD")
    assert signal.occurred_at == datetime(2023, 4, 4, 21, 41, 10, tzinfo=UTC)  # the event's `created`
    assert signal.received_at == NOW
    assert signal.match == SignalMatch(
        external_id="stripe:cus_NeZwdNtLEOXuvB", email="jennyrosen@example.com"
    )


def test_an_invoice_carries_a_referral_code_in_its_own_or_its_subscriptions_metadata() -> None:
    own = with_object("invoice.paid", metadata={"referral_code": " 7KQ3XM9PTW2A "})
    assert only_signal(own).match.code == "7kq3xm9ptw2a"

    via_subscription = sample("invoice.paid")
    via_subscription["data"]["object"]["parent"]["subscription_details"]["metadata"] = {
        "referral_code": "7kq3xm9ptw2a"
    }
    assert only_signal(via_subscription).match.code == "7kq3xm9ptw2a"

    older_api = with_object(
        "invoice.paid", parent=None, subscription_details={"metadata": {"referral_code": "7kq3xm9ptw2a"}}
    )
    assert only_signal(older_api).match.code == "7kq3xm9ptw2a"


def test_an_expanded_customer_is_read_by_its_id() -> None:
    event = with_object("invoice.paid", customer={"id": "cus_NeZwdNtLEOXuvB", "object": "customer"})
    assert only_signal(event).match.external_id == "stripe:cus_NeZwdNtLEOXuvB"


def test_an_invoice_with_nothing_paid_is_ignored() -> None:
    assert "nothing was paid" in ignored(with_object("invoice.paid", amount_paid=0))


def test_billing_reasons_narrow_invoices_to_e_g_the_first_subscription_payment() -> None:
    first_only = {"billing_reasons": ["subscription_create"]}
    assert only_signal(sample("invoice.paid"), first_only).kind is SignalKind.QUALIFY
    renewal = with_object("invoice.paid", billing_reason="subscription_cycle")
    assert "subscription_cycle" in ignored(renewal, first_only)


def test_the_connections_minimum_and_currency_filter_payments() -> None:
    rule = {"min_amount": "50.00", "currency": "usd"}
    assert only_signal(sample("invoice.paid"), rule).amount == Decimal("50.00")  # exactly the minimum
    assert "below 50.00" in ignored(with_object("invoice.paid", amount_paid=4999), rule)
    assert "EUR, not USD" in ignored(with_object("invoice.paid", currency="eur"), rule)


@pytest.mark.parametrize(
    ("minor", "currency", "major"),
    [
        (5000, "usd", Decimal("50.00")),
        (1, "eur", Decimal("0.01")),
        (5000, "jpy", Decimal("5000")),
        (5000, "JPY", Decimal("5000")),
        (12345, "krw", Decimal("12345")),
        (12340, "kwd", Decimal("12.340")),
        (10000, "isk", Decimal("100.00")),  # two-decimal in Stripe's API, though whole krónur
        (10000, "huf", Decimal("100.00")),
    ],
)
def test_minor_units_become_major_units_by_the_currencys_exponent(
    minor: int, currency: str, major: Decimal
) -> None:
    assert major_units(minor, currency) == major
    assert str(major_units(minor, currency)) == str(major)


def test_a_zero_decimal_currency_is_not_divided_by_a_hundred() -> None:
    event = with_object("invoice.paid", amount_paid=5000, currency="jpy")

    signal = only_signal(event, {"min_amount": "5000", "currency": "JPY"})

    assert (signal.amount, signal.currency) == (Decimal("5000"), "JPY")
    assert "below 5001" in ignored(event, {"min_amount": "5001", "currency": "JPY"})


def test_a_completed_checkout_session_qualifies_by_email_or_client_reference_id() -> None:
    signal = only_signal(sample("checkout.session.completed"))
    assert signal.kind is SignalKind.QUALIFY
    assert signal.event_id == "evt_1NG8Du2eZvKYlo2CUI79vXW1"
    assert (signal.amount, signal.currency) == (Decimal("21.98"), "USD")
    assert signal.match == SignalMatch(email="jennyrosen@example.com")  # a guest: no customer

    tagged = with_object("checkout.session.completed", client_reference_id="7KQ3XM9PTW2A")
    assert only_signal(tagged).match.code == "7kq3xm9ptw2a"
    by_metadata = with_object("checkout.session.completed", metadata={"referral_code": "7kq3xm9ptw2a"})
    assert only_signal(by_metadata).match.code == "7kq3xm9ptw2a"
    not_a_code = with_object("checkout.session.completed", client_reference_id="cart 42/7")
    assert only_signal(not_a_code).match.code is None
    with_customer = with_object("checkout.session.completed", customer="cus_NeZwdNtLEOXuvB")
    assert only_signal(with_customer).match.external_id == "stripe:cus_NeZwdNtLEOXuvB"


def test_an_unpaid_checkout_waits_for_its_async_payment() -> None:
    unpaid = with_object("checkout.session.completed", payment_status="unpaid")
    assert "payment status is unpaid" in ignored(unpaid)

    succeeded = copy.deepcopy(sample("checkout.session.completed"))
    succeeded["type"] = "checkout.session.async_payment_succeeded"
    assert only_signal(succeeded).kind is SignalKind.QUALIFY


def test_only_the_events_the_connection_names_qualify() -> None:
    invoices_only = {"events": ["invoice.paid"]}
    assert "not an event this connection acts on" in ignored(
        sample("checkout.session.completed"), invoices_only
    )
    assert only_signal(sample("invoice.paid"), invoices_only).kind is SignalKind.QUALIFY


def test_a_full_refund_is_a_reversal() -> None:
    signal = only_signal(sample("charge.refunded"))

    assert signal.kind is SignalKind.REVERSE
    assert signal.event_id == "evt_1NG8Du2eZvKYlo2CUI79vXW2"
    assert (signal.amount, signal.currency) == (Decimal("10.99"), "USD")
    assert signal.occurred_at == datetime.fromtimestamp(1679190539, UTC)
    assert signal.match == SignalMatch(
        external_id="stripe:cus_NeZwdNtLEOXuvB", email="jennyrosen@example.com"
    )


def test_a_partial_refund_reverses_only_below_the_connections_minimum() -> None:
    partial = with_object("charge.refunded", amount=10000, amount_captured=10000, amount_refunded=4000)
    partial["data"]["object"]["refunded"] = False

    assert "partial refund" in ignored(partial)  # no minimum: only a full refund reverses
    assert "partial refund" in ignored(partial, {"min_amount": "60.00", "currency": "USD"})  # keeps 60
    signal = only_signal(partial, {"min_amount": "60.01", "currency": "USD"})
    assert (signal.kind, signal.amount) == (SignalKind.REVERSE, Decimal("40.00"))


def test_a_refund_of_a_payment_that_could_not_have_qualified_is_ignored() -> None:
    refund = sample("charge.refunded")  # 10.99 USD
    assert "below 50.00" in ignored(refund, {"min_amount": "50.00", "currency": "USD"})
    assert "USD, not EUR" in ignored(refund, {"currency": "EUR"})


def test_a_dispute_is_a_reversal_named_by_its_payment() -> None:
    signal = only_signal(sample("charge.dispute.created"))

    assert signal.kind is SignalKind.REVERSE
    assert (signal.amount, signal.currency) == (Decimal("10.00"), "USD")
    # A dispute names no customer: the charge, and whatever referral code or email it carries.
    assert signal.match == SignalMatch(external_id="stripe:ch_1AZtxr2eZvKYlo2CJDX8whov")

    event = copy.deepcopy(sample("charge.dispute.created"))
    event["data"]["object"]["payment_intent"] = "pi_3MtwBwLkdIwHu7ix28a3tqPa"
    event["data"]["object"]["metadata"] = {"referral_code": "7kq3xm9ptw2a"}
    event["data"]["object"]["evidence"]["customer_email_address"] = "JennyRosen@Example.com"
    assert only_signal(event).match == SignalMatch(
        external_id="stripe:pi_3MtwBwLkdIwHu7ix28a3tqPa",
        code="7kq3xm9ptw2a",
        email="jennyrosen@example.com",
    )


def test_reversals_can_be_switched_off() -> None:
    no_reversals: dict[str, Any] = {"reversals": []}
    assert "not an event this connection acts on" in ignored(sample("charge.refunded"), no_reversals)
    assert "not an event" in ignored(sample("charge.dispute.created"), {"reversals": ["charge.refunded"]})


@pytest.mark.parametrize("event_type", ["customer.created", "invoice.payment_failed", "charge.succeeded"])
def test_unknown_event_types_are_acknowledged_and_ignored(event_type: str) -> None:
    event = copy.deepcopy(sample("invoice.paid"))
    event["type"] = event_type
    assert "not an event this connection acts on" in ignored(event)


def test_a_thin_event_is_ignored() -> None:
    thin = {
        "id": "evt_test_65R9Ijk8gzl2Ohw7ADc16R9IjktSQd",
        "object": "v2.core.event",
        "type": "v1.invoice.paid",
        "created": 1680644470,
        "data": {"object": {}},
    }
    assert "thin events" in ignored(thin)


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"id": "evt_1", "type": "invoice.paid"}',
        json.dumps({**sample("invoice.paid"), "data": {"object": {"currency": "usd"}}}).encode(),
    ],
)
def test_an_authentic_but_unreadable_event_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedWebhook):
        adapter.normalise(request(body, None), connection())


def test_redeliveries_of_one_event_are_stored_once() -> None:
    """Stripe signs every delivery anew (new `t`); the event id stays and is the dedupe key."""
    inbox = InMemorySignalInbox()
    payload = body_of(sample("invoice.paid"))
    for at in (NOW, NOW + timedelta(minutes=30), NOW + timedelta(hours=5)):
        call = request(payload, sdk_header(payload, at=at), received_at=at)
        adapter.verify(call, SECRET, connection())
        [signal] = adapter.normalise(call, connection()).signals
        inbox.accept(signal)
    assert len(inbox.signals) == 1


def test_the_reply_is_200_json_without_personal_data() -> None:
    reply = adapter.reply(normalise(sample("invoice.paid")))
    assert (reply.status, reply.content_type) == (200, "application/json")
    assert json.loads(reply.body) == {"received": True, "signals": 1, "ignored": []}
    skipped = adapter.reply(normalise(with_object("invoice.paid", amount_paid=0)))
    assert json.loads(skipped.body)["signals"] == 0
    assert "jennyrosen" not in skipped.body


# ---------------------------------------------------------------------------------- connections


def test_the_registry_knows_stripe() -> None:
    assert isinstance(adapter_for("stripe"), StripeAdapter)


@pytest.mark.parametrize(
    "milestone",
    [
        {},
        {"events": ["invoice.paid"], "min_amount": "50.00", "currency": "USD"},
        {"events": ["checkout.session.completed"], "currency": "jpy", "min_amount": 5000},
        {"billing_reasons": ["subscription_create"], "reversals": []},
    ],
)
def test_sensible_milestones_are_accepted(milestone: dict[str, Any]) -> None:
    adapter.validate_connection(milestone, {})


@pytest.mark.parametrize(
    ("milestone", "problem"),
    [
        ({"min_amount": "50.00"}, "^milestone: a minimum amount needs its currency"),
        ({"events": []}, r"^milestone\.events: "),
        ({"events": ["charge.succeeded"]}, r"^milestone\.events\[0\]: "),
        ({"reversals": ["invoice.voided"]}, r"^milestone\.reversals\[0\]: "),
        ({"min_amount": "-1", "currency": "USD"}, "^milestone: min_amount must be more than 0"),
        ({"min_amount": "NaN", "currency": "USD"}, "^milestone: min_amount must be more than 0"),
        ({"min_amount": "1000000001", "currency": "USD"}, "^milestone: min_amount must be more than 0"),
        ({"currency": "dollars"}, r"^milestone\.currency: "),
        ({"billing_reasons": ["Subscription Create"]}, r"^milestone\.billing_reasons\[0\]: "),
        ({"stage": "won"}, "^milestone: .* `stage`"),
    ],
)
def test_nonsense_milestones_are_refused(milestone: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        adapter.validate_connection(milestone, {})


def test_stripe_connections_take_no_settings() -> None:
    with pytest.raises(ValueError, match="no settings"):
        adapter.validate_connection({}, {"account": "acct_123"})


def test_the_milestone_normalises_the_currency() -> None:
    assert parse(StripeMilestone, {"min_amount": "1", "currency": "usd"}).currency == "USD"


# --------------------------------------------------------- the payment's ids and reasons (ADR 0021)


def test_each_event_names_the_payment_it_is_about() -> None:
    # Stripe's documented objects (API version 2025-03-31.basil: an invoice names no charge)
    assert only_signal(sample("invoice.paid")).payment_ids == ["in_1MtHbELkdIwHu7ixl4OzzPMv"]
    checkout = only_signal(sample("checkout.session.completed"), {"events": ["checkout.session.completed"]})
    assert checkout.payment_ids == ["pi_3MtwBwLkdIwHu7ix28a3tqPa"]
    assert only_signal(sample("charge.refunded")).payment_ids == ["ch_3MmlLrLkdIwHu7ix0snN0B15"]
    assert only_signal(sample("charge.dispute.created")).payment_ids == ["ch_1AZtxr2eZvKYlo2CJDX8whov"]


def test_an_invoice_of_an_older_api_version_names_its_charge_and_payment_intent() -> None:
    # Before 2025-03-31.basil an Invoice had `charge` and `payment_intent`, possibly expanded
    legacy = with_object(
        "invoice.paid", charge={"id": "ch_3Legacy", "object": "charge"}, payment_intent="pi_3Legacy"
    )
    assert only_signal(legacy).payment_ids == ["ch_3Legacy", "pi_3Legacy", "in_1MtHbELkdIwHu7ixl4OzzPMv"]
    refund = with_object(
        "charge.refunded", payment_intent="pi_3Legacy", invoice="in_1MtHbELkdIwHu7ixl4OzzPMv"
    )
    assert only_signal(refund).payment_ids == [
        "ch_3MmlLrLkdIwHu7ix0snN0B15",
        "pi_3Legacy",
        "in_1MtHbELkdIwHu7ixl4OzzPMv",
    ]


def test_a_reversal_says_what_stripe_reported_and_a_payment_says_nothing() -> None:
    partial = with_object("charge.refunded", amount=10000, amount_captured=10000, amount_refunded=4000)
    partial["data"]["object"]["refunded"] = False
    dispute = with_object("charge.dispute.created", payment_intent="pi_3D", reason="fraudulent")

    assert only_signal(sample("charge.refunded")).reason == (
        "Stripe refunded charge ch_3MmlLrLkdIwHu7ix0snN0B15 in full"
    )
    assert only_signal(partial, {"min_amount": "60.01", "currency": "USD"}).reason == (
        "Stripe refunded charge ch_3MmlLrLkdIwHu7ix0snN0B15 in part (40.00 USD): the 60.00 USD kept is below "
        "the milestone"
    )
    assert (
        only_signal(dispute).reason == "a Stripe dispute (fraudulent) of ch_1AZtxr2eZvKYlo2CJDX8whov, pi_3D"
    )
    assert only_signal(sample("invoice.paid")).reason is None
