"""Zapier and Make: JSON from a Zap's "Webhooks by Zapier" POST action or a scenario's HTTP "Make a
request" module, proven by the connection's secret in `X-Referrals-Secret` (constant-time), mapped
to one qualify or reverse signal keyed on the caller's own event id."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from referral_engine.domain.models import Connection, SignalKind, SignalMatch, Source
from referral_engine.domain.records import to_json
from referral_engine.domain.webhooks import (
    InboundRequest,
    MalformedWebhook,
    Normalised,
    VendorAdapter,
    WebhookRefused,
)
from referral_engine.vendors import adapter_for, available
from referral_engine.vendors.automation import MakeAdapter, ZapierAdapter

EVENTS = Path(__file__).resolve().parents[3] / "events" / "vendors"
SECRET = "q3Vt9bXcN2rL7wKpZ5sHd8mJf4gAe6uYx1oRi0TnBkC"  # as generated: token_urlsafe(32)
HOOK_ID = "Q9fXw2LmN5pK7wZs1cDfXq3v"
NOW = datetime(2026, 11, 23, 20, 15, 6, tzinfo=UTC)
PAID_AT = datetime(2026, 11, 23, 20, 15, 4, tzinfo=UTC)
REFUNDED_AT = datetime(2026, 11, 30, 9, 12, 45, tzinfo=UTC)
CUSTOMER = "stripe:cus_NeZwdNtLEOXuvB"

zapier = ZapierAdapter()
make = MakeAdapter()


def raw(source: str, name: str) -> bytes:
    return (EVENTS / source / f"{name}.json").read_bytes()


def edited(source: str, name: str, **changes: Any) -> bytes:
    """A sample with fields changed (None removes one)."""
    body = json.loads(raw(source, name))
    for key, value in changes.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    return json.dumps(body).encode()


def request(
    body: bytes,
    headers: dict[str, str] | None = None,
    source: str = "zapier",
    query: dict[str, str] | None = None,
) -> InboundRequest:
    return InboundRequest(
        method="POST",
        url=f"https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/hooks/{source}/{HOOK_ID}",
        headers={
            "content-type": "application/json",
            **(headers if headers is not None else {"x-referrals-secret": SECRET}),
        },
        query=query or {},
        body=body,
        received_at=NOW,
    )


def connection(source: Source = "zapier") -> Connection:
    return Connection(
        id=f"con_{source}",
        campaign_id="cmp_1",
        source=source,
        hook_id=HOOK_ID,
        created_at=NOW,
        secret_rotated_at=NOW,
    )


def zap(body: bytes) -> Normalised:
    return zapier.normalise(request(body), connection())


# ------------------------------------------------------------------------------------ registry


def test_the_registry_finds_both_adapters() -> None:
    assert isinstance(adapter_for("zapier"), ZapierAdapter)
    assert isinstance(adapter_for("make"), MakeAdapter)
    assert {"zapier", "make"} <= set(available())
    assert (zapier.source, make.source) == ("zapier", "make")


def test_we_generate_the_secret() -> None:
    """Neither tool issues a secret: the connection's is generated and pasted into the header."""
    assert zapier.vendor_issues_secret is False
    assert make.vendor_issues_secret is False


# ---------------------------------------------------------------------------------- connection


@pytest.mark.parametrize("adapter", [zapier, make])
def test_a_connection_without_milestone_or_settings_is_accepted(adapter: VendorAdapter) -> None:
    adapter.validate_connection({}, {})


@pytest.mark.parametrize("adapter", [zapier, make])
@pytest.mark.parametrize(
    ("milestone", "settings"),
    [
        ({"status": "won"}, {}),
        ({}, {"username": "referrals"}),
        ({"min_amount": "50.00"}, {"code_field": "referral_code"}),
    ],
)
def test_a_milestone_or_settings_are_refused(
    adapter: VendorAdapter, milestone: dict[str, Any], settings: dict[str, Any]
) -> None:
    with pytest.raises(ValueError, match=rf"^{adapter.source} connections take no milestone or settings"):
        adapter.validate_connection(milestone, settings)


# -------------------------------------------------------------------------------------- verify


def test_the_secret_in_the_header_is_accepted() -> None:
    zapier.verify(request(raw("zapier", "qualify_invoice_paid")), SECRET, connection())
    make.verify(request(raw("make", "qualify_deal_won"), source="make"), SECRET, connection("make"))


def test_a_bearer_token_is_accepted_when_the_header_is_absent() -> None:
    for scheme in ("Bearer", "bearer"):
        call = request(raw("zapier", "qualify_invoice_paid"), {"authorization": f"{scheme} {SECRET}"})
        zapier.verify(call, SECRET, connection())


@pytest.mark.parametrize(
    ("headers", "query"),
    [
        ({}, {}),  # no header at all
        ({"x-referrals-secret": "not-the-secret"}, {}),
        ({"x-referrals-secret": ""}, {}),
        ({"x-referrals-secret": SECRET.lower()}, {}),
        ({"x-referrals-secret": f" {SECRET}"}, {}),
        ({"x-referrals-secret": SECRET[:-1]}, {}),
        ({"x-referrals-secret": f"Bearer {SECRET}"}, {}),
        # the header decides when it is there: a right bearer token does not rescue a wrong header
        ({"x-referrals-secret": "not-the-secret", "authorization": f"Bearer {SECRET}"}, {}),
        ({"authorization": f"Basic {SECRET}"}, {}),
        ({"authorization": SECRET}, {}),
        ({"authorization": "Bearer not-the-secret"}, {}),
        ({"x-secret": SECRET}, {}),
        ({}, {"secret": SECRET}),  # never from the URL
    ],
)
def test_a_missing_or_wrong_secret_is_refused(headers: dict[str, str], query: dict[str, str]) -> None:
    call = request(raw("zapier", "qualify_invoice_paid"), headers, query=query)
    with pytest.raises(WebhookRefused, match="x-referrals-secret"):
        zapier.verify(call, SECRET, connection())


def test_the_secret_in_the_body_is_not_a_proof() -> None:
    body = edited("zapier", "qualify_invoice_paid", secret=SECRET)
    with pytest.raises(WebhookRefused):
        zapier.verify(request(body, {}), SECRET, connection())


# ------------------------------------------------------------------------------------ normalise


def test_a_zap_for_a_paid_invoice_is_a_qualify_signal() -> None:
    normalised = zap(raw("zapier", "qualify_invoice_paid"))

    [signal] = normalised.signals
    assert signal.source == "zapier"
    assert signal.kind is SignalKind.QUALIFY
    assert signal.event_id == "in_1MtHbELkdIwHu7ixl4OzzPMv"
    assert signal.key == "zapier:in_1MtHbELkdIwHu7ixl4OzzPMv"
    assert signal.campaign_id == "cmp_1"
    assert signal.match == SignalMatch(external_id=CUSTOMER, email="grace@example.org")
    assert (signal.amount, signal.currency) == (Decimal("50.00"), "USD")
    assert signal.occurred_at == PAID_AT
    assert signal.received_at == NOW
    assert normalised.ignored == []


def test_a_zap_for_a_refund_is_a_reverse_signal() -> None:
    [signal] = zap(raw("zapier", "reverse_refund")).signals

    assert signal.kind is SignalKind.REVERSE
    assert signal.event_id == "re_3MmlLrLkdIwHu7ix0vHkCEWz:reverse"
    assert signal.match == SignalMatch(external_id=CUSTOMER)
    assert signal.reason == "Stripe refund re_3MmlLrLkdIwHu7ix0vHkCEWz: requested_by_customer"
    assert (signal.amount, signal.currency) == (Decimal("50.00"), "USD")
    assert signal.occurred_at == REFUNDED_AT


def test_a_make_scenario_for_a_won_deal_is_a_qualify_signal() -> None:
    normalised = make.normalise(request(raw("make", "qualify_deal_won"), source="make"), connection("make"))

    [signal] = normalised.signals
    assert signal.source == "make"
    assert signal.kind is SignalKind.QUALIFY
    assert signal.event_id == "pipedrive-deal-1042-won"
    assert signal.match == SignalMatch(code="p4wz8hk2mq7x", email="grace@example.org")
    assert (signal.amount, signal.currency) == (Decimal(1200), "USD")  # a JSON number
    assert signal.occurred_at == PAID_AT  # Make's "2026-11-23T20:15:04.000Z"


def test_the_reply_counts_the_signals() -> None:
    reply = zapier.reply(zap(raw("zapier", "qualify_invoice_paid")))
    assert (reply.status, reply.content_type) == (200, "application/json")
    assert json.loads(reply.body) == {"accepted": 1}
    assert json.loads(make.reply(Normalised([])).body) == {"accepted": 0}


def test_the_event_defaults_to_qualify() -> None:
    [signal] = zap(edited("zapier", "qualify_invoice_paid", event=None)).signals
    assert signal.kind is SignalKind.QUALIFY


def test_only_what_is_sent_is_used() -> None:
    body = json.dumps({"event_id": "evt-1", "email": "Grace@Example.org "}).encode()
    [signal] = zap(body).signals
    assert signal.match == SignalMatch(email="grace@example.org")
    assert (signal.amount, signal.currency, signal.occurred_at) == (None, None, None)


def test_a_referral_code_is_normalised_and_code_is_an_alias() -> None:
    [typed] = zap(edited("make", "qualify_deal_won", referral_code=" P4WZ8HK2MQ7X ")).signals
    [both] = zap(edited("make", "qualify_deal_won", code="k7m2xq9pw4ha")).signals
    assert typed.match.code == "p4wz8hk2mq7x"
    assert both.match.code == "k7m2xq9pw4ha"  # `code` wins over `referral_code`


def test_empty_fields_count_as_not_sent() -> None:
    """Zapier and Make send "" for a mapped field that is empty in that run."""
    body = edited("zapier", "qualify_invoice_paid", referral_code="", external_id="", amount=" ", currency="")
    [signal] = zap(body).signals
    assert signal.match == SignalMatch(email="grace@example.org")
    assert (signal.amount, signal.currency) == (None, None)
    [no_email] = zap(edited("zapier", "qualify_invoice_paid", email="", occurred_at="")).signals
    assert no_email.match == SignalMatch(external_id=CUSTOMER)
    assert no_email.occurred_at is None


def test_a_lower_case_currency_and_a_numeric_event_id_are_read_as_meant() -> None:
    [signal] = zap(edited("zapier", "qualify_invoice_paid", currency=" usd", event_id=1042)).signals
    assert (signal.currency, signal.event_id) == ("USD", "1042")


def test_a_reversal_sharing_its_qualifications_id_is_not_taken_for_a_duplicate_of_it() -> None:
    paid = zap(edited("zapier", "qualify_invoice_paid", event_id="in_1")).signals[0]
    refunded = zap(edited("zapier", "qualify_invoice_paid", event_id="in_1", event="reverse")).signals[0]
    assert paid.dedupe_key != refunded.dedupe_key


def test_extra_fields_are_ignored() -> None:
    body = edited("zapier", "qualify_invoice_paid", customer_name="Grace Hopper", secret=SECRET)
    [signal] = zap(body).signals
    assert signal == zap(raw("zapier", "qualify_invoice_paid")).signals[0]
    assert SECRET not in to_json(signal).decode()


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("2026-11-23T20:15:04Z", PAID_AT),
        ("2026-11-23T21:15:04+01:00", PAID_AT),
        ("2026-11-23T20:15:04.000Z", PAID_AT),
        (1795464904, PAID_AT),  # Unix seconds
        ("1795464904", PAID_AT),
    ],
)
def test_occurred_at_forms(given: str | int, expected: datetime) -> None:
    [signal] = zap(edited("zapier", "qualify_invoice_paid", occurred_at=given)).signals
    assert signal.occurred_at == expected  # the same instant, whatever the offset it was written in


@pytest.mark.parametrize(
    ("given", "expected"), [("1200", "1200"), ("1200.50", "1200.50"), (12.5, "12.5"), (0, "0")]
)
def test_amounts_as_strings_or_numbers(given: str | float, expected: str) -> None:
    [signal] = zap(edited("zapier", "qualify_invoice_paid", amount=given)).signals
    assert signal.amount == Decimal(expected)


def test_the_event_id_is_trimmed_and_may_be_190_characters() -> None:
    [trimmed] = zap(edited("zapier", "qualify_invoice_paid", event_id="  in_123  ")).signals
    [longest] = zap(edited("zapier", "qualify_invoice_paid", event_id="x" * 190)).signals
    assert trimmed.event_id == "in_123"
    assert len(longest.event_id) == 190


# --------------------------------------------------------------------------------------- dedupe


def test_a_retry_is_the_same_signal_and_another_event_is_not() -> None:
    first = zap(raw("zapier", "qualify_invoice_paid")).signals[0]
    retried = zap(edited("zapier", "qualify_invoice_paid", occurred_at="2026-11-23T20:16:00Z")).signals[0]
    other = zap(edited("zapier", "qualify_invoice_paid", event_id="in_other")).signals[0]
    assert retried.dedupe_key == first.dedupe_key == "zapier#cmp_1##in_1MtHbELkdIwHu7ixl4OzzPMv"
    assert other.dedupe_key != first.dedupe_key


def test_zapier_and_make_event_ids_are_separate() -> None:
    body = raw("make", "qualify_deal_won")
    from_zapier = zapier.normalise(request(body), connection()).signals[0]
    from_make = make.normalise(request(body, source="make"), connection("make")).signals[0]
    assert from_zapier.dedupe_key != from_make.dedupe_key
    assert from_zapier.event_id == from_make.event_id


# ------------------------------------------------------------------------------------ malformed


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"{not json", "a zapier call is a JSON object"),
        (b"event_id=in_1&email=grace%40example.org", "a zapier call is a JSON object"),  # Payload Type: form
        (b"\xff\xfe{}", "a zapier call is a JSON object"),  # not UTF-8
        (b"", "event_id"),
        (b"null", "Expected `object`"),
        (b'[{"event_id": "in_1", "email": "grace@example.org"}]', "Expected `object`"),  # wrapped in an array
        (edited("zapier", "qualify_invoice_paid", event_id=None), "event_id"),
        (edited("zapier", "qualify_invoice_paid", event_id="   "), "event_id"),
        (edited("zapier", "qualify_invoice_paid", event_id=True), "event_id"),
        (edited("zapier", "qualify_invoice_paid", event_id="x" * 191), "event_id"),
        (edited("zapier", "qualify_invoice_paid", event="refund"), "event"),
        (edited("zapier", "qualify_invoice_paid", event="Qualify"), "event"),
        (
            edited("zapier", "qualify_invoice_paid", external_id=None, email=None),
            "`code`, `email` or `external_id`",
        ),
        (edited("zapier", "qualify_invoice_paid", referral_code="no way!"), "not a referral code"),
        (edited("zapier", "qualify_invoice_paid", email="not an email"), "email"),
        (edited("zapier", "qualify_invoice_paid", external_id="stripe:" + "x" * 154), "external_id"),
        (edited("zapier", "qualify_invoice_paid", amount="fifty"), "amount"),
        (edited("zapier", "qualify_invoice_paid", amount="$50.00"), "amount"),
        (edited("zapier", "qualify_invoice_paid", amount="NaN"), "amount"),
        (edited("zapier", "qualify_invoice_paid", amount="-50.00"), "amount"),
        (edited("zapier", "qualify_invoice_paid", currency="dollars"), "currency"),
        (edited("zapier", "qualify_invoice_paid", currency="US"), "currency"),
        (edited("zapier", "qualify_invoice_paid", occurred_at="2026-11-23 20:15:04"), "occurred_at"),
        (edited("zapier", "qualify_invoice_paid", occurred_at="yesterday"), "occurred_at"),
    ],
)
def test_an_authentic_but_unusable_call_is_malformed(body: bytes, problem: str) -> None:
    with pytest.raises(MalformedWebhook, match=problem):
        zap(body)


def test_the_reason_names_the_tool() -> None:
    with pytest.raises(MalformedWebhook, match="a make call is a JSON object"):
        make.normalise(request(b"{not json", source="make"), connection("make"))


def test_a_reason_is_a_reversals_only_and_an_empty_one_is_none() -> None:
    paid = zap(edited("zapier", "qualify_invoice_paid", reason="first invoice")).signals[0]
    blank = zap(edited("zapier", "reverse_refund", reason="  ")).signals[0]

    assert paid.reason is None  # a qualification has no reason to keep
    assert blank.reason is None  # Zapier sends "" for a mapped field left empty


def test_a_reason_longer_than_500_characters_is_refused() -> None:
    with pytest.raises(MalformedWebhook, match="reason"):
        zap(edited("zapier", "reverse_refund", reason="x" * 501))
