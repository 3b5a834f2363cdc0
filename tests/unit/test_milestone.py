"""Does a signal reach the campaign's milestone?"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from referral_engine.domain.milestone import evaluate
from referral_engine.domain.models import Milestone, Referral, Signal, SignalMatch

JOINED = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
REFERRAL = Referral(
    id="ref_1",
    campaign_id="cmp_1",
    advocate_code="adv2345wxyz",
    referred_code="frd2345wxyz",
    referred_email="bob@example.com",
    joined_at=JOINED,
)


def signal(
    amount: str | None = None,
    currency: str | None = None,
    occurred_at: datetime | None = None,
    received_at: datetime = JOINED + timedelta(hours=1),
) -> Signal:
    return Signal(
        source="test",
        event_id="evt-1",
        campaign_id="cmp_1",
        match=SignalMatch(referral_id="ref_1"),
        amount=None if amount is None else Decimal(amount),
        currency=currency,
        occurred_at=occurred_at,
        received_at=received_at,
    )


def test_an_empty_milestone_is_reached_by_any_signal() -> None:
    decision = evaluate(Milestone(), signal(), REFERRAL)
    assert decision.reached
    assert decision.reason == "milestone reached"


@pytest.mark.parametrize(
    ("amount", "reached"),
    [(None, False), ("49.99", False), ("50", True), ("50.00", True), ("1000", True)],
)
def test_min_amount(amount: str | None, reached: bool) -> None:
    milestone = Milestone(min_amount=Decimal("50"), currency="EUR")
    decision = evaluate(milestone, signal(amount=amount, currency="EUR"), REFERRAL)
    assert decision.reached is reached
    if not reached:
        assert ("no" in decision.reason) if amount is None else ("below 50" in decision.reason)


@pytest.mark.parametrize(("currency", "reached"), [("EUR", True), ("USD", False), (None, False)])
def test_currency(currency: str | None, reached: bool) -> None:
    decision = evaluate(Milestone(currency="EUR"), signal(amount="10", currency=currency), REFERRAL)
    assert decision.reached is reached
    if not reached:
        assert "is not EUR" in decision.reason


def test_amount_and_currency_must_both_hold() -> None:
    milestone = Milestone(min_amount=Decimal("50"), currency="EUR")
    assert evaluate(milestone, signal(amount="60", currency="EUR"), REFERRAL).reached
    assert not evaluate(milestone, signal(amount="60", currency="USD"), REFERRAL).reached
    assert not evaluate(milestone, signal(amount="40", currency="EUR"), REFERRAL).reached


@pytest.mark.parametrize(
    ("after_signup", "reached"),
    [
        (timedelta(days=29), True),
        (timedelta(days=30), True),  # the boundary counts
        (timedelta(days=30, seconds=1), False),
        (timedelta(days=400), False),
    ],
)
def test_within_days_counts_from_signup_to_when_it_happened(after_signup: timedelta, reached: bool) -> None:
    decision = evaluate(Milestone(within_days=30), signal(occurred_at=JOINED + after_signup), REFERRAL)
    assert decision.reached is reached
    if not reached:
        assert "more than 30 days" in decision.reason


def test_within_days_prefers_when_it_happened_over_when_we_received_it() -> None:
    # Given a purchase on day 2 that the vendor delivered only on day 40
    late_delivery = signal(occurred_at=JOINED + timedelta(days=2), received_at=JOINED + timedelta(days=40))
    # Then it counts
    assert evaluate(Milestone(within_days=30), late_delivery, REFERRAL).reached


def test_within_days_falls_back_to_when_we_received_it() -> None:
    assert not evaluate(
        Milestone(within_days=30), signal(received_at=JOINED + timedelta(days=31)), REFERRAL
    ).reached
    assert evaluate(
        Milestone(within_days=30), signal(received_at=JOINED + timedelta(days=1)), REFERRAL
    ).reached


@pytest.mark.parametrize(
    ("before_signup", "reached"),
    [(timedelta(minutes=4), True), (timedelta(minutes=6), False), (timedelta(days=3), False)],
)
def test_within_days_ignores_what_happened_before_signup(before_signup: timedelta, reached: bool) -> None:
    decision = evaluate(Milestone(within_days=30), signal(occurred_at=JOINED - before_signup), REFERRAL)
    assert decision.reached is reached
    if not reached:
        assert decision.reason == "it happened before the signup"


def test_a_minimum_amount_needs_a_currency() -> None:
    with pytest.raises(ValueError, match="needs its currency"):
        Milestone(min_amount=Decimal("50"))
