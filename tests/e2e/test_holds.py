"""The hold period on the running stack (docs/adr/0020): a held reward is released and credited by the
schedule, then clawed back when the qualifying payment is reversed — each step in the referral view."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import requests

from support.local_stack import RunningStack, start_stack

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
