"""Validation rules of the domain's models."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from referral_engine.domain.models import Milestone, ReferralStatus, RewardRule, Signal, SignalMatch


@pytest.mark.parametrize(
    "reward",
    [
        {"amount": "10", "currency": "EUR"},
        {"amount": "9.99", "currency": "USD"},
        {"amount": "0.01", "currency": "GBP", "friend_amount": "5.5"},
        {"amount": "1000000", "currency": "JPY"},
    ],
)
def test_reward_rule_accepts_money_in_major_units(reward: dict[str, Any]) -> None:
    rule = RewardRule.model_validate(reward)
    assert rule.amount == Decimal(reward["amount"])


@pytest.mark.parametrize(
    ("reward", "problem"),
    [
        ({"amount": "1.005", "currency": "EUR"}, "two decimal places"),
        ({"amount": "10", "currency": "EUR", "friend_amount": "0.001"}, "two decimal places"),
        ({"amount": "-5", "currency": "EUR"}, "greater than 0"),
        ({"amount": "0", "currency": "EUR"}, "greater than 0"),
        ({"amount": "1000000.01", "currency": "EUR"}, "less than or equal"),
        ({"amount": "NaN", "currency": "EUR"}, "amount"),
        ({"amount": "10", "currency": "eur"}, "pattern"),
        ({"amount": "10", "currency": "EURO"}, "pattern"),
        ({"amount": "10"}, "currency"),
    ],
)
def test_reward_rule_rejects_bad_money(reward: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        RewardRule.model_validate(reward)


def test_milestone_rejects_a_window_of_zero_days_or_a_lowercase_currency() -> None:
    with pytest.raises(ValidationError):
        Milestone(within_days=0)
    with pytest.raises(ValidationError):
        Milestone.model_validate({"currency": "usd"})


def test_models_are_immutable() -> None:
    rule = RewardRule.model_validate({"amount": "10", "currency": "EUR"})
    with pytest.raises(ValidationError):
        rule.amount = Decimal(20)  # type: ignore[misc]


def test_a_signal_is_keyed_by_source_and_event_id_and_defaults_to_qualify() -> None:
    signal = Signal(
        source="stripe",
        event_id="evt_123",
        campaign_id="cmp_1",
        match=SignalMatch(code="abcd2345wxyz"),
        received_at=datetime.now(UTC),
    )
    assert signal.key == "stripe:evt_123"
    assert signal.kind == "qualify"


def test_a_signal_needs_an_event_id() -> None:
    with pytest.raises(ValidationError):
        Signal(
            source="stripe", event_id="", campaign_id="c", match=SignalMatch(), received_at=datetime.now(UTC)
        )


def test_an_empty_match_is_empty() -> None:
    assert SignalMatch().is_empty()
    assert not SignalMatch(email="bob@example.com").is_empty()


def test_statuses_have_their_wire_names() -> None:
    assert [status.value for status in ReferralStatus] == [
        "pending",
        "qualified",
        "rewarded",
        "in_review",
        "rejected",
        "reversed",
    ]
