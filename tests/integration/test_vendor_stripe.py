"""Stripe through the inbound webhook handler: a connection created over the API with the endpoint's
signing secret, events signed by Stripe's own SDK, and the whole path to the reward — and back out of
it when the payment is refunded."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
import stripe

from referral_engine.domain.events import ReferralReversed
from referral_engine.domain.records import parse
from support.aws import BUS, AwsStack
from support.events import json_body
from support.journey import (
    create_campaign,
    create_connection,
    enrol,
    get_referral,
    post_connection,
    run_issue_reward,
    run_qualify,
    sign_up,
    vendor_hook,
)

SAMPLES = Path(__file__).resolve().parents[2] / "events" / "vendors" / "stripe"
SECRET = "whsec_8c1f0e7a2b3d4c5e6f708192a3b4c5d6"  # the endpoint's signing secret (test data)
CUSTOMER = "cus_NeZwdNtLEOXuvB"  # the customer of the documented samples
MILESTONE = {"events": ["invoice.paid"], "min_amount": "50.00", "currency": "USD"}

ReadEvents = Callable[[], list[dict[str, Any]]]


def event(name: str, *, event_id: str | None = None, age: int = 2, **changes: Any) -> bytes:
    """A documented sample as Stripe would send it now: created `age` seconds ago, pretty-printed."""
    body: dict[str, Any] = copy.deepcopy(json.loads((SAMPLES / f"{name}.json").read_text()))
    body["created"] = int(time.time()) - age
    if event_id:
        body["id"] = event_id
    body["data"]["object"].update(changes)
    return json.dumps(body, indent=2).encode()


def signed(payload: bytes, secret: str = SECRET, at: int | None = None) -> dict[str, str]:
    """The Stripe-Signature header by Stripe's SDK (each delivery is signed anew, as Stripe does)."""
    header = stripe.WebhookSignature.generate_signature_header(payload.decode(), secret, timestamp=at)
    return {"stripe-signature": header, "user-agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)"}


def stripe_connection(campaign_id: str, milestone: dict[str, Any] | None = None) -> dict[str, Any]:
    return create_connection(
        campaign_id, source="stripe", secret=SECRET, milestone=MILESTONE if milestone is None else milestone
    )


def deliver(connection: dict[str, Any], payload: bytes, **signing: Any) -> dict[str, Any]:
    return vendor_hook(connection["hook_url"], payload, signed(payload, **signing))


def audit_actions(stack: AwsStack, referral_id: str) -> list[str]:
    entries = [item for item in stack.items_of("audit") if item["pk"] == f"REFERRAL#{referral_id}"]
    return [item["action"] for item in sorted(entries, key=lambda item: item["sk"])]


@pytest.fixture
def reversed_events(stack: AwsStack) -> ReadEvents:
    """`referral.reversed` as a consumer of the bus would get it (no function consumes it yet)."""
    sqs, events = boto3.client("sqs"), boto3.client("events")
    url = sqs.create_queue(QueueName="reversed-capture")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pattern = {"source": ["referral-engine"], "detail-type": ["referral.reversed"]}
    events.put_rule(Name="reversed", EventBusName=BUS, EventPattern=json.dumps(pattern))
    events.put_targets(Rule="reversed", EventBusName=BUS, Targets=[{"Id": "capture", "Arn": arn}])

    def read() -> list[dict[str, Any]]:
        found = []
        while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            for message in messages:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                found.append(json.loads(message["Body"]))
        return found

    return read


@pytest.fixture
def referrals(stack: AwsStack) -> dict[str, Any]:
    """A campaign with two referrals: Grace is Stripe's customer, Linus is not (yet)."""
    campaign = create_campaign()
    code = enrol(campaign["id"])["code"]
    return {
        "campaign": campaign,
        "grace": sign_up(code, "grace@example.org", external_ids={"stripe": CUSTOMER}),
        "linus": sign_up(code, "linus@example.net", external_ids={"stripe": "cus_OtherCustomer01"}),
        "connection": stripe_connection(campaign["id"]),
    }


def status_of(referral: dict[str, Any]) -> str:
    return str(json_body(get_referral(referral["id"]))["status"])


def test_a_signed_invoice_paid_qualifies_the_right_referral_once_and_is_rewarded(
    stack: AwsStack, referrals: dict[str, Any]
) -> None:
    connection = referrals["connection"]
    assert "secret" not in connection  # Stripe's own signing secret: stored, never shown
    payload = event("invoice.paid")

    first = deliver(connection, payload)
    replay = deliver(connection, payload)  # Stripe retries: same event id, a new signature
    qualified = run_qualify(stack)
    rewarded = run_issue_reward(stack)

    assert (first["statusCode"], replay["statusCode"]) == (200, 200)
    assert json_body(first) == {"received": True, "signals": 1, "ignored": []}
    [stored] = stack.items_of("signal")
    assert (stored["source"], stored["event_id"], stored["kind"]) == (
        "stripe",
        "evt_1NG8Du2eZvKYlo2CUI79vXWy",
        "qualify",
    )
    assert (stored["amount"], stored["currency"]) == (50, "USD")
    assert qualified["batchItemFailures"] == []
    assert rewarded == [{"referral_id": referrals["grace"]["id"], "outcome": "issued"}]
    assert status_of(referrals["grace"]) == "rewarded"
    assert status_of(referrals["linus"]) == "pending"
    assert stack.exceptions() == []


def test_a_checkout_session_qualifies_a_guest_by_the_email_they_paid_with(stack: AwsStack) -> None:
    campaign = create_campaign()
    jenny = sign_up(enrol(campaign["id"])["code"], "JennyRosen@example.com")
    connection = stripe_connection(campaign["id"], {"events": ["checkout.session.completed"]})

    response = deliver(connection, event("checkout.session.completed"))
    run_qualify(stack)
    run_issue_reward(stack)

    assert response["statusCode"] == 200
    assert status_of(jenny) == "rewarded"


@pytest.mark.parametrize(
    ("forgery", "code"),
    [
        ("wrong_secret", "signature_invalid"),
        ("tampered_body", "signature_invalid"),
        ("stale", "stale_timestamp"),
        ("from_the_future", "stale_timestamp"),
        ("no_header", "signature_invalid"),
        ("v0_only", "signature_invalid"),
    ],
)
def test_forged_and_stale_calls_are_refused_with_nothing_written(
    stack: AwsStack, referrals: dict[str, Any], forgery: str, code: str
) -> None:
    payload = event("invoice.paid")
    headers = signed(payload)
    if forgery == "wrong_secret":
        headers = signed(payload, secret="whsec_another_endpoints_secret_00")
    elif forgery == "tampered_body":
        payload = payload.replace(b'"amount_paid": 5000', b'"amount_paid": 500000')
    elif forgery == "stale":
        headers = signed(payload, at=int(time.time()) - 600)
    elif forgery == "from_the_future":
        headers = signed(payload, at=int(time.time()) + 600)
    elif forgery == "no_header":
        headers = {}
    elif forgery == "v0_only":
        headers["stripe-signature"] = headers["stripe-signature"].replace("v1=", "v0=")
    before = stack.items()

    response = vendor_hook(referrals["connection"]["hook_url"], payload, headers)

    assert response["statusCode"] == 401
    assert json_body(response)["error"]["code"] == code
    assert stack.items() == before


@pytest.mark.parametrize(
    "payload",
    [
        event("invoice.paid", amount_paid=4999),  # below the connection's minimum
        event("invoice.paid", currency="eur"),  # another currency
        event("checkout.session.completed"),  # not an event this connection names
        event("charge.refunded"),  # a refund of 10.99: that payment could not have qualified
        json.dumps({**json.loads(event("invoice.paid")), "type": "customer.subscription.updated"}).encode(),
    ],
)
def test_events_that_cannot_count_are_acknowledged_with_nothing_stored(
    stack: AwsStack, referrals: dict[str, Any], payload: bytes
) -> None:
    before = stack.items()

    response = deliver(referrals["connection"], payload)

    assert response["statusCode"] == 200
    body = json_body(response)
    assert body["signals"] == 0
    assert len(body["ignored"]) == 1
    assert stack.items() == before


def test_a_refund_after_the_reward_reverses_the_referral_and_tells_the_bus(
    stack: AwsStack, referrals: dict[str, Any], reversed_events: ReadEvents
) -> None:
    connection, grace = referrals["connection"], referrals["grace"]
    deliver(connection, event("invoice.paid", age=600))
    run_qualify(stack)
    run_issue_reward(stack)
    assert status_of(grace) == "rewarded"

    refund = event("charge.refunded", amount=5000, amount_captured=5000, amount_refunded=5000)
    response = deliver(connection, refund)
    deliver(connection, refund)  # redelivered
    qualified = run_qualify(stack)

    assert response["statusCode"] == 200
    assert qualified["batchItemFailures"] == []
    shown = json_body(get_referral(grace["id"]))
    assert shown["status"] == "reversed"
    assert shown["reversed_at"] is not None
    assert shown["reversed_at"] >= shown["rewarded_at"]
    assert len(shown["rewards"]) == 2  # issued before the refund: clawed back on referral.reversed
    assert status_of(referrals["linus"]) == "pending"
    [announced] = reversed_events()
    detail = announced["detail"]
    assert announced["detail-type"] == "referral.reversed"
    assert parse(ReferralReversed, detail).reason == (
        "Stripe refunded charge ch_3MmlLrLkdIwHu7ix0snN0B15 in full"
    )
    assert (detail["referral_id"], detail["campaign_id"]) == (grace["id"], referrals["campaign"]["id"])
    assert (detail["previous_status"], detail["rewards_issued"]) == ("rewarded", True)
    assert detail["signal"] == {
        "source": "stripe",
        "event_id": "evt_1NG8Du2eZvKYlo2CUI79vXW2",
        "amount": "50.00",
        "currency": "USD",
    }
    [clawback] = run_issue_reward(stack)  # the reward function takes the credits back
    assert sorted(clawback["rewards"].values()) == ["clawed_back", "clawed_back"]
    taken_back = json_body(get_referral(grace["id"]))["rewards"]
    assert {(r["status"], r["clawed_back_at"] is not None) for r in taken_back} == {("clawed_back", True)}
    advocate = next(p for p in stack.items_of("participant") if p["code"] == shown["advocate"]["code"])
    assert advocate["credit_balance"] == 0
    reversed_entry = next(
        item
        for item in stack.items_of("audit")
        if item["pk"] == f"REFERRAL#{grace['id']}" and item["action"] == "referral.reversed"
    )
    assert reversed_entry["detail"]["previous_status"] == "rewarded"
    assert reversed_entry["detail"]["clawback"].startswith("requested")
    assert reversed_entry["detail"]["rewards_issued_at"] == shown["rewarded_at"]


def test_a_refund_delivered_before_its_payment_is_held_and_the_referral_never_rewarded(
    stack: AwsStack, referrals: dict[str, Any], reversed_events: ReadEvents
) -> None:
    connection, grace = referrals["connection"], referrals["grace"]
    refund = event("charge.refunded", age=2, amount=5000, amount_captured=5000, amount_refunded=5000)

    # The refund overtakes the payment it refunds
    assert deliver(connection, refund)["statusCode"] == 200
    assert run_qualify(stack)["batchItemFailures"] == []
    assert status_of(grace) == "pending"
    assert "referral.reversal_held" in audit_actions(stack, grace["id"])
    assert reversed_events() == []

    # Then the payment (it happened a minute before the refund) arrives
    assert deliver(connection, event("invoice.paid", age=60))["statusCode"] == 200
    assert run_qualify(stack)["batchItemFailures"] == []

    assert status_of(grace) == "reversed"
    # Never announced as qualified: no reward, and nothing for the clawback to take back.
    assert run_issue_reward(stack) == [{"referral_id": grace["id"], "rewards": {}}]
    assert json_body(get_referral(grace["id"]))["rewards"] == []
    [announced] = reversed_events()
    assert (announced["detail"]["previous_status"], announced["detail"]["rewards_issued"]) == (
        "pending",
        False,
    )
    assert audit_actions(stack, grace["id"])[-2:] == ["referral.qualified", "referral.reversed"]
    assert status_of(referrals["linus"]) == "pending"


def test_a_dispute_names_no_customer_and_goes_to_the_exceptions_queue_for_an_admin(
    stack: AwsStack, referrals: dict[str, Any]
) -> None:
    dispute = event("charge.dispute.created", amount=5000)

    assert deliver(referrals["connection"], dispute)["statusCode"] == 200
    qualified = run_qualify(stack)

    assert qualified["batchItemFailures"] == []
    [kept] = stack.exceptions()
    assert kept["reason"] == "unmatched_signal"
    assert kept["payload"]["signal"]["match"]["external_id"] == "stripe:ch_1AZtxr2eZvKYlo2CJDX8whov"
    assert status_of(referrals["grace"]) == "pending"


def test_a_dispute_carrying_the_referral_code_reverses_its_referral(
    stack: AwsStack, referrals: dict[str, Any], reversed_events: ReadEvents
) -> None:
    connection, grace = referrals["connection"], referrals["grace"]
    deliver(connection, event("invoice.paid", age=600))
    run_qualify(stack)

    dispute = event("charge.dispute.created", amount=5000, metadata={"referral_code": grace["referral_code"]})
    deliver(connection, dispute)
    run_qualify(stack)

    assert status_of(grace) == "reversed"
    [announced] = reversed_events()
    assert announced["detail"]["previous_status"] == "qualified"
    assert run_issue_reward(stack) == [
        {"referral_id": grace["id"], "outcome": "skipped"},  # reversed before its rewards were issued
        {"referral_id": grace["id"], "rewards": {}},  # so there are none to take back
    ]


@pytest.mark.parametrize(
    "milestone",
    [{"min_amount": "50.00"}, {"events": ["charge.succeeded"]}, {"stage": "closedwon"}],
)
def test_a_nonsense_milestone_is_refused_and_writes_nothing(
    stack: AwsStack, milestone: dict[str, Any]
) -> None:
    campaign = create_campaign()
    before = stack.items()
    response = post_connection(campaign["id"], {"source": "stripe", "secret": SECRET, "milestone": milestone})
    assert response["statusCode"] == 400
    assert stack.items() == before


def test_of_two_early_refunds_the_later_one_waits_for_the_payment(
    stack: AwsStack, referrals: dict[str, Any], reversed_events: ReadEvents
) -> None:
    # One batch: after a cancelled transaction (the earlier refund losing to the later one held),
    # moto's stream iterators stop seeing new records, so nothing is read after it in this test.
    connection, grace = referrals["connection"], referrals["grace"]
    full: dict[str, Any] = {"amount": 5000, "amount_captured": 5000, "amount_refunded": 5000}
    deliver(connection, event("charge.refunded", event_id="evt_refund_late", age=10, **full))
    deliver(connection, event("charge.refunded", event_id="evt_refund_early", age=300, **full))
    deliver(connection, event("invoice.paid", age=60))  # between the two refunds

    assert run_qualify(stack)["batchItemFailures"] == []

    assert status_of(grace) == "reversed"
    assert audit_actions(stack, grace["id"]).count("referral.reversal_held") == 2
    [announced] = reversed_events()
    assert announced["detail"]["signal"]["event_id"] == "evt_refund_late"


def test_a_payment_after_an_early_refund_is_a_new_one_and_qualifies(
    stack: AwsStack, referrals: dict[str, Any], reversed_events: ReadEvents
) -> None:
    connection, grace = referrals["connection"], referrals["grace"]
    full: dict[str, Any] = {"amount": 5000, "amount_captured": 5000, "amount_refunded": 5000}
    deliver(connection, event("charge.refunded", age=600, **full))  # of some earlier payment
    run_qualify(stack)

    deliver(connection, event("invoice.paid", age=5))
    run_qualify(stack)
    rewarded = run_issue_reward(stack)

    assert rewarded == [{"referral_id": grace["id"], "outcome": "issued"}]
    assert status_of(grace) == "rewarded"
    assert reversed_events() == []


# Matching a refund or dispute to the payment that qualified (docs/adr/0021). Invoices of API versions
# before 2025-03-31.basil name their charge and payment intent; a Checkout Session its payment intent.
CHARGE, INTENT = "ch_3MmlLrLkdIwHu7ix0snN0B15", "pi_3MtwBwLkdIwHu7ix28a3tqPa"


def legacy_invoice_paid(**changes: Any) -> bytes:
    return event("invoice.paid", age=600, charge=CHARGE, payment_intent=INTENT, **changes)


def paid_by_legacy_invoice(stack: AwsStack, connection: dict[str, Any], *, rewarded: bool = False) -> None:
    deliver(connection, legacy_invoice_paid())
    run_qualify(stack)
    if rewarded:
        run_issue_reward(stack)


def reversal_notes(stack: AwsStack, referral_id: str) -> list[str]:
    return [
        item["detail"]["reason"]
        for item in stack.items_of("audit")
        if item["pk"] == f"REFERRAL#{referral_id}" and item["action"] == "signal.reversal_ignored"
    ]


def test_the_qualifying_payments_ids_are_recorded_on_the_referral(
    stack: AwsStack, referrals: dict[str, Any]
) -> None:
    paid_by_legacy_invoice(stack, referrals["connection"])

    [referral] = [item for item in stack.items_of("referral") if item["id"] == referrals["grace"]["id"]]
    assert referral["payment_ids"] == [CHARGE, INTENT, "in_1MtHbELkdIwHu7ixl4OzzPMv"]
    claims = [item for item in stack.items() if item["pk"].startswith("PAYMENT#")]
    assert {claim["referral_id"] for claim in claims} == {referrals["grace"]["id"]}
    assert len(claims) == 3


def test_a_refund_of_a_later_unrelated_payment_does_not_reverse_and_says_why(
    stack: AwsStack, referrals: dict[str, Any], reversed_events: ReadEvents
) -> None:
    connection, grace = referrals["connection"], referrals["grace"]
    paid_by_legacy_invoice(stack, connection, rewarded=True)

    # The same customer's next month is refunded: another charge, another payment intent
    later = event(
        "charge.refunded",
        event_id="evt_refund_of_month_two",
        id="ch_3MonthTwoCharge0000000001",
        payment_intent="pi_3MonthTwoIntent0000000001",
        amount=5000,
        amount_captured=5000,
        amount_refunded=5000,
    )
    assert deliver(connection, later)["statusCode"] == 200
    assert run_qualify(stack)["batchItemFailures"] == []

    assert status_of(grace) == "rewarded"
    assert reversed_events() == []
    [note] = reversal_notes(stack, grace["id"])
    assert "ch_3MonthTwoCharge0000000001" in note
    assert "is not the one that qualified the referral" in note

    # The refund of the payment that qualified does reverse it
    own = event(
        "charge.refunded", payment_intent=INTENT, amount=5000, amount_captured=5000, amount_refunded=5000
    )
    deliver(connection, own)
    run_qualify(stack)
    assert status_of(grace) == "reversed"
    [announced] = reversed_events()
    assert announced["detail"]["reason"] == f"Stripe refunded charge {CHARGE} in full"


def test_without_ids_to_compare_a_refund_of_a_payment_made_after_the_qualification_does_not_reverse(
    stack: AwsStack, referrals: dict[str, Any], reversed_events: ReadEvents
) -> None:
    """An invoice of API 2025-03-31.basil names no charge: the refunded charge's time tells them apart."""
    connection, grace = referrals["connection"], referrals["grace"]
    deliver(connection, event("invoice.paid", age=3600))  # qualified an hour ago, by the invoice only
    run_qualify(stack)
    refund = {"amount": 5000, "amount_captured": 5000, "amount_refunded": 5000, "refunded": True}

    later = event("charge.refunded", event_id="evt_refund_later", created=int(time.time()) - 60, **refund)
    deliver(connection, later)
    assert run_qualify(stack)["batchItemFailures"] == []
    assert status_of(grace) == "qualified"
    [note] = reversal_notes(stack, grace["id"])
    assert "after the one that qualified the referral" in note

    own = event("charge.refunded", event_id="evt_refund_own", created=int(time.time()) - 3602, **refund)
    deliver(connection, own)
    run_qualify(stack)
    assert status_of(grace) == "reversed"
    assert len(reversed_events()) == 1


def test_a_dispute_finds_its_referral_by_the_payment_it_disputes(
    stack: AwsStack, referrals: dict[str, Any], reversed_events: ReadEvents
) -> None:
    connection, grace = referrals["connection"], referrals["grace"]
    paid_by_legacy_invoice(stack, connection)

    # No code, no email: only the disputed charge (Stripe's documented sample, on our charge)
    dispute = event("charge.dispute.created", amount=5000, charge=CHARGE, reason="fraudulent")
    assert deliver(connection, dispute)["statusCode"] == 200
    assert run_qualify(stack)["batchItemFailures"] == []

    assert stack.exceptions() == []
    assert status_of(grace) == "reversed"
    [announced] = reversed_events()
    assert announced["detail"]["reason"] == f"a Stripe dispute (fraudulent) of {CHARGE}"
    assert status_of(referrals["linus"]) == "pending"


def test_a_held_refund_of_another_payment_does_not_undo_the_payment_that_comes(
    stack: AwsStack, referrals: dict[str, Any]
) -> None:
    connection, grace = referrals["connection"], referrals["grace"]
    other = event(
        "charge.refunded",
        id="ch_3EarlierOtherCharge000001",
        payment_intent="pi_3EarlierOtherIntent000001",
        amount=5000,
        amount_captured=5000,
        amount_refunded=5000,
    )
    deliver(connection, other)
    run_qualify(stack)
    assert "referral.reversal_held" in audit_actions(stack, grace["id"])

    deliver(connection, legacy_invoice_paid())  # paid before that refund, but another payment
    run_qualify(stack)

    assert status_of(grace) == "qualified"
