"""Validation rules of the domain's records: when parsed, and when built in code."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from referral_engine.domain.models import Milestone, ReferralStatus, RewardRule, Signal, SignalMatch
from referral_engine.domain.records import Invalid, parse, problems


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
    rule = parse(RewardRule, reward)
    assert rule.amount == Decimal(reward["amount"])


@pytest.mark.parametrize(
    ("reward", "problem"),
    [
        ({"amount": "1.005", "currency": "EUR"}, "two decimal places"),
        ({"amount": "10", "currency": "EUR", "friend_amount": "0.001"}, "two decimal places"),
        ({"amount": "-5", "currency": "EUR"}, "amount: more than 0"),
        ({"amount": "0", "currency": "EUR"}, "amount: more than 0"),
        ({"amount": "1000000.01", "currency": "EUR"}, "at most 1000000"),
        ({"amount": "NaN", "currency": "EUR"}, "amount"),
        ({"amount": "10", "currency": "eur"}, "three-letter"),
        ({"amount": "10", "currency": "EURO"}, "three-letter"),
        ({"amount": "10"}, "currency"),
    ],
)
def test_reward_rule_rejects_bad_money(reward: dict[str, Any], problem: str) -> None:
    with pytest.raises(Invalid, match=problem):
        parse(RewardRule, reward)


def test_milestone_rejects_a_window_of_zero_days_a_lowercase_currency_or_an_amount_alone() -> None:
    with pytest.raises(ValueError, match="within_days"):
        Milestone(within_days=0)
    with pytest.raises(Invalid, match="three-letter"):
        parse(Milestone, {"currency": "usd"})
    with pytest.raises(Invalid, match="needs its currency"):
        parse(Milestone, {"min_amount": "10"})


def test_rules_hold_for_records_built_in_code_too() -> None:
    with pytest.raises(ValueError, match="two decimal places"):
        RewardRule(amount=Decimal("1.005"), currency="EUR")


def test_records_are_immutable() -> None:
    rule = parse(RewardRule, {"amount": "10", "currency": "EUR"})
    with pytest.raises(AttributeError):
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
    with pytest.raises(ValueError, match="event_id"):
        Signal(
            source="stripe", event_id="", campaign_id="c", match=SignalMatch(), received_at=datetime.now(UTC)
        )


def test_a_signal_needs_times_with_their_timezone() -> None:
    item = {"source": "stripe", "event_id": "e", "campaign_id": "c", "match": {}}
    with pytest.raises(Invalid, match="timezone"):
        parse(Signal, {**item, "received_at": "2026-01-01T10:00:00"})
    assert parse(Signal, {**item, "received_at": "2026-01-01T10:00:00+02:00"}).received_at.utcoffset()


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


def test_problems_name_the_field_but_never_the_value() -> None:
    with pytest.raises(Invalid) as refused:
        parse(Signal, {"source": "s", "event_id": "e", "campaign_id": "c", "match": {}, "kind": "secret-x"})

    assert problems(refused.value) == "kind: Invalid enum value"
