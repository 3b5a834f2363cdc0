"""Rewards a business can defend, on the running stack: the review queue (docs/adr/0019), the hold
period and clawback (0020), reversals matched to the payment that qualified (0021) — each step in the
referral view."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import requests

from support.local_stack import RunningStack, referrals_cli, start_stack
from support.vendor_calls import Match, stripe_event
from support.vendor_sources import send

HOLD_DAYS = "0.00004"  # 3.456 s: long enough to see the reward pending, short enough for a test
CAMPAIGN = {
    "name": "Held for a refund window",
    "landing_url": "https://shop.example.com/",
    "reward": {"amount": "15.00", "currency": "EUR", "hold_days": HOLD_DAYS},
}


@pytest.fixture(scope="module")
def held_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """The local stack running its schedules every half second rather than every minute."""
    running = start_stack(tmp_path_factory.mktemp("holds"), "--schedule-every", "0.5")
    yield running
    if running.process.poll() is None:
        running.stop()


def test_a_held_reward_is_released_by_the_schedule_then_clawed_back_by_a_reversal(
    held_stack: RunningStack,
) -> None:
    stack = held_stack
    campaign = stack.post("/v1/campaigns", CAMPAIGN).json()
    assert campaign["reward"]["hold_days"] == HOLD_DAYS
    enrol = f"/v1/campaigns/{campaign['id']}/advocates"
    advocate = stack.post(enrol, {"email": "ada@example.com"}).json()
    referral = stack.post("/v1/referrals", {"code": advocate["code"], "email": "grace@example.org"}).json()
    path = f"/v1/referrals/{referral['id']}"

    def reward() -> dict[str, Any]:
        rewards = stack.get(path).json()["rewards"]
        return dict(rewards[0]) if rewards else {}

    def reward_once(status: str) -> dict[str, Any]:
        return stack.wait_for(reward, lambda now: now.get("status") == status, what=f"a {status} reward")

    def balance() -> Decimal:  # enrolling again shows the advocate as they are
        return Decimal(stack.post(enrol, {"email": "ada@example.com"}).json()["credit_balance"])

    # Given a qualifying payment through the campaign's generic hook
    paid = requests.get(campaign["hook_url"], params={"code": referral["referral_code"]}, timeout=10)
    assert paid.status_code == 202, paid.text

    # Then the reward waits, pending, until the hold from qualification is over
    held = stack.wait_for(reward, what="the held reward")
    assert held["status"] == "pending", held
    qualified_at = datetime.fromisoformat(stack.get(path).json()["qualified_at"])
    assert datetime.fromisoformat(held["release_at"]) == qualified_at + timedelta(seconds=3.456)
    assert balance() == 0

    # And the schedule releases and credits it once it is due
    paid_out = reward_once("fulfilled")
    assert paid_out["released_at"] >= held["release_at"]
    assert paid_out["fulfilled_at"] >= paid_out["released_at"]
    assert balance() == Decimal("15.00")

    # When the payment is refunded (a Zapier connection reporting it)
    zapier = stack.post(f"/v1/campaigns/{campaign['id']}/connections", {"source": "zapier"}).json()
    refund = {"event": "reverse", "event_id": "refund-1", "code": referral["referral_code"]}
    headers = {"x-referrals-secret": zapier["secret"]}
    refunded = requests.post(zapier["hook_url"], json=refund, headers=headers, timeout=10)
    assert refunded.status_code == 200, refunded.text

    # Then the referral is reversed and the credit clawed back: the balance is back to 0
    taken = reward_once("clawed_back")
    assert stack.get(path).json()["status"] == "reversed"
    assert taken["clawed_back_at"] >= paid_out["fulfilled_at"]
    assert stack.wait_for(balance, lambda value: value == 0, what="the debit") == 0


# The whole scenario: a friend who is the advocate under a `+tag` is held for review, an admin
# approves her through the CLI, the schedule releases the held rewards, and a Stripe refund of the very
# payment that qualified her claws them back — each step in the referral view.
CUSTOMER, INTENT = "cus_NeZwdNtLEOXuvB", "pi_3MtwBwLkdIwHu7ix28a3tqPa"  # the Checkout Session sample's
STRIPE_SECRET = "whsec_5b0e1c2d3f4a5b6c7d8e9f0a1b2c3d4e"


def cli_json(stack: RunningStack, *args: str) -> Any:
    result = referrals_cli(stack, "--json", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_a_tagged_self_referral_is_reviewed_approved_released_then_clawed_back(
    held_stack: RunningStack,
) -> None:
    stack = held_stack
    reward = {"amount": "20.00", "currency": "USD", "friend_amount": "10.00", "hold_days": HOLD_DAYS}
    campaign = stack.post("/v1/campaigns", {**CAMPAIGN, "reward": reward}).json()
    enrol = f"/v1/campaigns/{campaign['id']}/advocates"
    advocate = stack.post(enrol, {"email": "ada.lovelace@gmail.com"}).json()
    connection = stack.post(
        f"/v1/campaigns/{campaign['id']}/connections",
        {
            "source": "stripe",
            "milestone": {"events": ["checkout.session.completed"]},
            "secret": STRIPE_SECRET,
        },
    ).json()

    def advocate_balance() -> Decimal:  # enrolling again shows the advocate as she is
        return Decimal(stack.post(enrol, {"email": "ada.lovelace@gmail.com"}).json()["credit_balance"])

    # Given the advocate signing up as her own friend under another spelling of her Gmail address
    signup = stack.post(
        "/v1/referrals",
        {
            "code": advocate["code"],
            "email": "Ada.Lovelace+friend@googlemail.com",
            "external_ids": {"stripe": CUSTOMER},
        },
    )
    assert signup.status_code == 201, signup.text
    referral = signup.json()
    path = f"/v1/referrals/{referral['id']}"
    assert referral["status"] == "in_review"
    [review] = [
        item for item in cli_json(stack, "reviews", "list")["items"] if item["referral_id"] == referral["id"]
    ]
    assert review["reasons"] == ["self_referral_email"]

    # When her payment comes: it is held, not paid, while she is in review
    match = Match(CUSTOMER, referral["referral_code"], "Ada.Lovelace+friend@googlemail.com")
    paid = send(
        connection["hook_url"], stripe_event("checkout.session.completed", STRIPE_SECRET, match, "evt_paid_1")
    )
    assert paid.status_code == 200, paid.text
    shown = stack.wait_for(
        lambda: cli_json(stack, "reviews", "show", review["id"]),
        lambda now: now["held_signal"] is not None,
        what="the payment held for the review",
    )
    assert shown["referral"]["status"] == "in_review"
    assert stack.get(path).json()["rewards"] == []

    # And an admin approves her through the CLI
    reason = "a colleague, confirmed by phone"
    approved = referrals_cli(stack, "reviews", "approve", review["id"], "--reason", reason)
    assert approved.returncode == 0, approved.stderr

    # Then the held payment qualifies her, and both rewards wait out the hold
    held = stack.wait_for(
        lambda: stack.get(path).json(), lambda now: len(now["rewards"]) == 2, what="the held rewards"
    )
    assert held["status"] == "rewarded"
    assert {r["status"] for r in held["rewards"]} == {"pending"}
    assert all(r["release_at"] for r in held["rewards"])

    # And the schedule releases and credits them
    fulfilled = stack.wait_for(
        lambda: stack.get(path).json(),
        lambda now: {r["status"] for r in now["rewards"]} == {"fulfilled"},
        what="the released rewards",
    )
    assert all(r["fulfilled_at"] >= r["release_at"] for r in fulfilled["rewards"])
    assert Decimal(
        stack.post(enrol, {"email": "ada.lovelace@gmail.com"}).json()["credit_balance"]
    ) == Decimal("20.00")

    # When Stripe reports a refund of that very payment
    refund = stripe_event("charge.refunded", STRIPE_SECRET, match, "evt_refund_1", payment_intent=INTENT)
    refunded = send(connection["hook_url"], refund)
    assert refunded.status_code == 200, refunded.text

    # Then the referral is reversed and both credits clawed back
    reversed_ = stack.wait_for(
        lambda: stack.get(path).json(),
        lambda now: {r["status"] for r in now["rewards"]} == {"clawed_back"},
        what="the clawback",
    )
    assert reversed_["status"] == "reversed"
    assert (
        stack.wait_for(
            lambda: Decimal(stack.post(enrol, {"email": "ada.lovelace@gmail.com"}).json()["credit_balance"]),
            lambda balance: balance == 0,
            what="the debit",
        )
        == 0
    )
    # And the decision stays on record: who approved, when, why
    shown = cli_json(stack, "reviews", "show", review["id"])
    decided = shown["review"]
    assert (decided["status"], decided["decision_reason"]) == ("approved", reason)
    [approval] = [entry for entry in shown["audit"] if entry["action"] == "referral.approved"]
    assert approval["actor"] == f"admin:{decided['decided_by']}"
    assert approval["at"] == decided["decided_at"]
