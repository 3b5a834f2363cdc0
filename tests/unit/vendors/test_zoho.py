"""Zoho CRM workflow webhooks: the parameters the user configured, form-encoded or raw JSON, proven by
a shared secret (header or parameter, constant-time), a qualify signal only when the milestone field
has its value, stored once per record and milestone."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest

from referral_engine.domain.identifiers import sha256_hex
from referral_engine.domain.models import Connection, SignalKind, SignalMatch
from referral_engine.domain.records import to_json
from referral_engine.domain.webhooks import InboundRequest, MalformedWebhook, WebhookRefused
from referral_engine.vendors import adapter_for, available
from referral_engine.vendors.zoho import ZohoAdapter

SAMPLES = Path(__file__).resolve().parents[3] / "events" / "vendors" / "zoho"
SECRET = "zoho-shared-secret-9d2e4b"
RECORD_ID = "3652397000001234567"
FORM = "application/x-www-form-urlencoded"
NOW = datetime(2026, 11, 23, 20, 15, 6, tzinfo=UTC)
MILESTONE = {"field": "Stage", "value": "Closed Won"}

adapter = ZohoAdapter()


def raw(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def form(name: str = "deal_closed_won.form", **changes: str | None) -> bytes:
    """A form sample with parameters changed (None removes one)."""
    params = dict(parse_qsl(raw(name).decode(), keep_blank_values=True))
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value
    return urlencode(params).encode()


def request(
    body: bytes,
    content_type: str = FORM,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
) -> InboundRequest:
    return InboundRequest(
        method="POST",
        url="https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/hooks/zoho/Q9fXw2LmN5pK7wZs1cDfXq3v",
        headers={
            "content-type": content_type,
            **(headers if headers is not None else {"x-referrals-secret": SECRET}),
        },
        query=query or {},
        body=body,
        received_at=NOW,
    )


def connection(milestone: dict[str, Any] | None = None, **settings: Any) -> Connection:
    return Connection(
        id="con_zoho",
        campaign_id="cmp_1",
        source="zoho",
        hook_id="Q9fXw2LmN5pK7wZs1cDfXq3v",
        milestone=milestone if milestone is not None else MILESTONE,
        settings=settings,
        created_at=NOW,
        secret_rotated_at=NOW,
    )


# ------------------------------------------------------------------------------------ registry


def test_the_registry_finds_the_adapter() -> None:
    assert isinstance(adapter_for("zoho"), ZohoAdapter)
    assert "zoho" in available()


# ---------------------------------------------------------------------------------- connection


@pytest.mark.parametrize(
    ("milestone", "settings"),
    [
        (MILESTONE, {}),
        ({"field": "Lead_Status", "value": "Converted"}, {"record_id": "lead_id", "email": "Email"}),
        (MILESTONE, {"code": "Referral_Code", "amount": "Amount", "currency": "Currency"}),
    ],
)
def test_good_connections_are_accepted(milestone: dict[str, Any], settings: dict[str, Any]) -> None:
    adapter.validate_connection(milestone, settings)


@pytest.mark.parametrize(
    ("milestone", "settings", "problem"),
    [
        ({}, {}, "^milestone: .* `field`"),
        ({"field": "Stage"}, {}, "^milestone: .* `value`"),
        ({"field": " ", "value": "Closed Won"}, {}, r"^milestone\.field: "),
        ({"field": "Stage", "value": "Closed Won", "stage": "x"}, {}, "^milestone: .* `stage`"),
        ({"field": "Stage", "value": 5}, {}, r"^milestone\.value: "),
        (MILESTONE, {"username": "x"}, "^settings: .* `username`"),
        (MILESTONE, {"email": ""}, r"^settings\.email: "),
    ],
)
def test_bad_connections_are_refused(
    milestone: dict[str, Any], settings: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        adapter.validate_connection(milestone, settings)


# -------------------------------------------------------------------------------------- verify


def test_the_secret_in_the_header_is_accepted() -> None:
    adapter.verify(request(raw("deal_closed_won.form")), SECRET, connection())


def test_the_secret_as_a_form_parameter_is_accepted() -> None:
    body = form(secret=SECRET)
    adapter.verify(request(body, headers={}), SECRET, connection())


def test_the_secret_in_a_json_body_is_accepted() -> None:
    body = json.dumps({**json.loads(raw("deal_closed_won.json")), "secret": SECRET}).encode()
    adapter.verify(request(body, "application/json", headers={}), SECRET, connection())


def test_the_secret_as_a_url_parameter_is_accepted() -> None:
    adapter.verify(
        request(raw("deal_closed_won.form"), headers={}, query={"secret": SECRET}), SECRET, connection()
    )


@pytest.mark.parametrize(
    ("body", "headers", "query"),
    [
        (None, {}, {}),
        (None, {"x-referrals-secret": "not-the-secret"}, {}),
        (None, {"x-referrals-secret": ""}, {}),
        (form(secret="not-the-secret"), {}, {}),
        (None, {}, {"secret": "not-the-secret"}),
        # the first place that carries a secret decides: a wrong header is not rescued by the body
        (form(secret=SECRET), {"x-referrals-secret": "not-the-secret"}, {}),
        (None, {"authorization": f"Bearer {SECRET}"}, {}),
        (b"\xff\xfe secret=" + SECRET.encode(), {}, {}),
    ],
)
def test_missing_or_wrong_secrets_are_refused(
    body: bytes | None, headers: dict[str, str], query: dict[str, str]
) -> None:
    call = request(body if body is not None else raw("deal_closed_won.form"), headers=headers, query=query)
    with pytest.raises(WebhookRefused):
        adapter.verify(call, SECRET, connection())


# ------------------------------------------------------------------------------------ normalise


def test_a_form_encoded_deal_closed_won_is_a_qualify_signal() -> None:
    normalised = adapter.normalise(request(raw("deal_closed_won.form")), connection())

    [signal] = normalised.signals
    assert signal.source == "zoho"
    assert signal.kind is SignalKind.QUALIFY
    assert signal.campaign_id == "cmp_1"
    assert signal.event_id == f"record-{RECORD_ID}:Stage=Closed Won@1200USD"
    assert signal.match == SignalMatch(
        external_id=f"zoho:{RECORD_ID}", code="p4wz8hk2mq7x", email="grace@example.org"
    )
    assert (signal.amount, signal.currency) == (Decimal("1200.00"), "USD")
    assert signal.occurred_at is None
    assert signal.received_at == NOW
    reply = adapter.reply(normalised)
    assert (reply.status, json.loads(reply.body)) == (200, {"accepted": 1})


def test_a_raw_json_body_is_the_same_signal() -> None:
    [from_json] = adapter.normalise(
        request(raw("deal_closed_won.json"), "application/json"), connection()
    ).signals
    [from_form] = adapter.normalise(request(raw("deal_closed_won.form")), connection()).signals
    assert from_json.dedupe_key == from_form.dedupe_key
    assert from_json.match == from_form.match
    assert from_json.amount == from_form.amount


@pytest.mark.parametrize("content_type", ["text/plain", "", "application/json; charset=utf-8"])
def test_json_is_recognised_whatever_the_content_type(content_type: str) -> None:
    [signal] = adapter.normalise(request(raw("deal_closed_won.json"), content_type), connection()).signals
    assert signal.match.external_id == f"zoho:{RECORD_ID}"


def test_a_form_body_without_its_content_type_is_read_as_a_form() -> None:
    [signal] = adapter.normalise(request(raw("deal_closed_won.form"), "text/plain"), connection()).signals
    assert signal.match.external_id == f"zoho:{RECORD_ID}"


def test_json_numbers_and_url_parameters_are_parameters_too() -> None:
    body = json.dumps({"Stage": "Closed Won", "amount": 1200.5, "nested": {"x": 1}}).encode()
    call = request(body, "application/json", query={"record_id": RECORD_ID, "currency": "eur"})
    [signal] = adapter.normalise(call, connection()).signals
    assert signal.match == SignalMatch(external_id=f"zoho:{RECORD_ID}")
    assert (signal.amount, signal.currency) == (Decimal("1200.5"), "EUR")


def test_the_same_record_reaching_the_milestone_again_is_the_same_signal() -> None:
    """No event id from Zoho: the record, the milestone and the amount are the key, whatever else
    changed; a corrected amount is judged again (it may reach the campaign's minimum now)."""
    first = adapter.normalise(request(raw("deal_closed_won.form")), connection()).signals[0]
    again = adapter.normalise(request(form(Deal_Name="Renamed")), connection()).signals[0]
    corrected = adapter.normalise(request(form(amount="1300.00")), connection()).signals[0]
    other = adapter.normalise(request(form(record_id="3652397000009999999")), connection()).signals[0]
    assert again.dedupe_key == first.dedupe_key
    assert corrected.dedupe_key != first.dedupe_key
    assert other.dedupe_key != first.dedupe_key


@pytest.mark.parametrize("stage", ["closed won", "  CLOSED WON "])
def test_the_milestone_value_ignores_case_and_spaces(stage: str) -> None:
    [signal] = adapter.normalise(request(form(Stage=stage)), connection()).signals
    assert signal.event_id == f"record-{RECORD_ID}:Stage=Closed Won@1200USD"


def test_parameter_names_match_ignoring_case() -> None:
    body = form(Stage=None, record_id=None) + f"&stage=Closed+Won&RECORD_ID={RECORD_ID}".encode()
    [signal] = adapter.normalise(request(body), connection()).signals
    assert signal.match.external_id == f"zoho:{RECORD_ID}"


def test_another_stage_is_acknowledged_and_ignored() -> None:
    normalised = adapter.normalise(request(raw("deal_negotiation.form")), connection())
    assert normalised.signals == []
    assert "Stage" in normalised.ignored[0]
    assert json.loads(adapter.reply(normalised).body) == {"accepted": 0}


def test_renamed_parameters_from_the_settings() -> None:
    body = urlencode(
        {"Lead_Status": "Converted", "lead_id": "zcrm_3652397000000555001", "Email": "Grace@Example.org"}
    ).encode()
    rule = {"field": "Lead_Status", "value": "Converted"}
    [signal] = adapter.normalise(request(body), connection(rule, record_id="lead_id", email="Email")).signals
    assert signal.match == SignalMatch(external_id="zoho:3652397000000555001", email="grace@example.org")
    assert signal.event_id == "record-3652397000000555001:Lead_Status=Converted"


def test_settings_left_null_keep_the_default_names() -> None:
    settings = {"record_id": None, "email": None}
    adapter.validate_connection(MILESTONE, settings)
    [signal] = adapter.normalise(request(raw("deal_closed_won.form")), connection(**settings)).signals
    assert signal.match.external_id == f"zoho:{RECORD_ID}"
    assert signal.match.email == "grace@example.org"


def test_without_a_record_id_the_code_or_the_email_matches() -> None:
    by_code = adapter.normalise(request(form(record_id=None)), connection()).signals[0]
    by_email = adapter.normalise(request(form(record_id=None, referral_code="")), connection()).signals[0]

    assert by_code.match == SignalMatch(code="p4wz8hk2mq7x", email="grace@example.org")
    assert by_code.event_id == "code-p4wz8hk2mq7x:Stage=Closed Won@1200USD"
    assert by_email.match == SignalMatch(email="grace@example.org")
    assert by_email.event_id == f"email-{sha256_hex('grace@example.org')[:32]}:Stage=Closed Won@1200USD"
    assert "grace" not in by_email.event_id  # event ids end up in table keys


def test_an_invalid_email_is_not_a_match_but_the_record_still_is() -> None:
    [signal] = adapter.normalise(request(form(email="not an email")), connection()).signals
    assert signal.match.email is None
    assert signal.match.external_id == f"zoho:{RECORD_ID}"


def test_the_secret_parameter_is_never_part_of_the_signal() -> None:
    [signal] = adapter.normalise(request(form(secret=SECRET)), connection()).signals
    assert SECRET not in to_json(signal).decode()


def test_a_very_long_milestone_value_still_makes_a_bounded_event_id() -> None:
    value = "Closed Won " + "x" * 180  # within the 200 a milestone value may have
    [signal] = adapter.normalise(
        request(form(Stage=value)), connection({"field": "Stage", "value": value})
    ).signals
    assert len(signal.event_id) <= 200
    assert signal.event_id.startswith("record-")


@pytest.mark.parametrize(
    ("body", "content_type", "problem"),
    [
        (form(Stage=None), FORM, "`Stage`"),
        (form(record_id=None, referral_code="", email=""), FORM, "record id"),
        (form(amount="twelve hundred"), FORM, "amount"),
        (form(currency="dollars"), FORM, "currency"),
        (form(record_id="9" * 129), FORM, "128"),
        (b"{not json", "application/json", "JSON"),
        (b'["Closed Won"]', "application/json", "object"),
        (b"just some text", "text/plain", "form-encoded or as JSON"),
        (b"\xff\xfe", FORM, "UTF-8"),
    ],
)
def test_an_authentic_but_unusable_call_is_malformed(body: bytes, content_type: str, problem: str) -> None:
    with pytest.raises(MalformedWebhook, match=problem):
        adapter.normalise(request(body, content_type), connection())


@pytest.mark.parametrize(("given", "expected"), [("24,000.00", "24000.00"), ("$ 1200", "1200"), ("-5", "-5")])
def test_amounts_as_zoho_formats_them(given: str, expected: str) -> None:
    [signal] = adapter.normalise(request(form(amount=given)), connection()).signals
    assert signal.amount == Decimal(expected)
