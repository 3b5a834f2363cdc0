"""The hold period's maths, the rewards a referral earns with and without one, and what a reversal
does to each reward (docs/adr/0020)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from referral_engine.domain.clawbacks import Clawback, clawback_for
from referral_engine.domain.holds import release_time
from referral_engine.domain.models import Campaign, Referral, Reward, RewardRule, RewardStatus
from referral_engine.domain.records import replace
from referral_engine.domain.reward_events import RewardEvent
from referral_engine.domain.rewards import moved_at, rewards_for

T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("hold_days", "due"),
    [
        ("0", None),
        ("1", T0 + timedelta(days=1)),
        ("0.5", T0 + timedelta(hours=12)),
        ("30", T0 + timedelta(days=30)),
        ("0.000001", T0 + timedelta(microseconds=86_400)),
        ("365", T0 + timedelta(days=365)),
    ],
)
def test_a_hold_of_so_many_days_is_due_that_long_after_qualification(hold_days: str, due: datetime) -> None:
    assert release_time(T0, Decimal(hold_days)) == due


@pytest.mark.parametrize("hold_days", ["-1", "365.5", "0.0000001", "NaN", "Infinity"])
def test_a_reward_rule_refuses_a_hold_outside_a_year_or_finer_than_six_places(hold_days: str) -> None:
    with pytest.raises(ValueError, match="hold_days"):
        RewardRule(amount=Decimal(10), currency="USD", hold_days=Decimal(hold_days))


def campaign(hold_days: str) -> Campaign:
    rule = RewardRule(
        amount=Decimal("20.00"), currency="EUR", friend_amount=Decimal("5.00"), hold_days=Decimal(hold_days)
    )
    return Campaign(
        id="cmp_1", name="c", landing_url="https://shop.example/", reward=rule, hook_id="h", created_at=T0
    )


REFERRAL = Referral(
    id="ref_1",
    campaign_id="cmp_1",
    advocate_code="ada",
    referred_code="grace",
    referred_email="grace@example.org",
    joined_at=T0,
    qualified_at=T0,
)


def test_with_a_hold_both_rewards_are_pending_until_the_hold_from_qualification_is_over() -> None:
    rewards = rewards_for(campaign("2"), REFERRAL, T0 + timedelta(minutes=3))

    assert [(r.recipient, r.status, r.release_at, r.fulfilled_at) for r in rewards] == [
        ("advocate", RewardStatus.PENDING, T0 + timedelta(days=2), None),
        ("friend", RewardStatus.PENDING, T0 + timedelta(days=2), None),
    ]


def test_without_a_hold_both_rewards_are_fulfilled_when_issued() -> None:
    issued = T0 + timedelta(minutes=3)
    rewards = rewards_for(campaign("0"), REFERRAL, issued)

    assert {(r.status, r.release_at, r.fulfilled_at) for r in rewards} == {
        (RewardStatus.FULFILLED, None, issued)
    }


def test_each_move_dates_the_status_it_reaches() -> None:
    [pending, _] = rewards_for(campaign("1"), REFERRAL, T0)
    released = moved_at(pending, RewardEvent.RELEASE, T0 + timedelta(days=1))
    assert released is not None
    fulfilled = moved_at(released, RewardEvent.FULFIL, T0 + timedelta(days=1, seconds=1))
    assert fulfilled is not None
    clawed = moved_at(fulfilled, RewardEvent.REVERSE, T0 + timedelta(days=9))
    assert clawed is not None

    assert (clawed.status, clawed.released_at, clawed.fulfilled_at, clawed.clawed_back_at) == (
        RewardStatus.CLAWED_BACK,
        T0 + timedelta(days=1),
        T0 + timedelta(days=1, seconds=1),
        T0 + timedelta(days=9),
    )
    assert moved_at(clawed, RewardEvent.RELEASE, T0) is None  # a reversal is final


def reward(status: RewardStatus, fulfilment: str = "credit") -> Reward:
    [advocate, _] = rewards_for(campaign("1"), REFERRAL, T0)
    return replace(advocate, status=status, fulfilment=fulfilment)


@pytest.mark.parametrize(
    ("status", "fulfilment", "clawback"),
    [
        (RewardStatus.PENDING, "credit", Clawback.CANCEL),
        (RewardStatus.IN_REVIEW, "credit", Clawback.CANCEL),
        (RewardStatus.FAILED, "giftcards", Clawback.CANCEL),
        (RewardStatus.RELEASED, "credit", Clawback.UNDO_RELEASE),  # not credited yet: no debit
        (RewardStatus.FULFILLED, "credit", Clawback.DEBIT),
        (RewardStatus.RELEASED, "giftcards", Clawback.PROVIDER),
        (RewardStatus.FULFILLED, "giftcards", Clawback.PROVIDER),
        (RewardStatus.CANCELLED, "credit", Clawback.NONE),
        (RewardStatus.CLAWED_BACK, "credit", Clawback.NONE),
    ],
)
def test_what_a_reversal_does_to_a_reward(status: RewardStatus, fulfilment: str, clawback: Clawback) -> None:
    assert clawback_for(reward(status, fulfilment)) is clawback


def test_every_clawback_but_none_is_a_move_the_table_has() -> None:
    for status in RewardStatus:
        decided = clawback_for(reward(status))
        after = moved_at(reward(status), RewardEvent.REVERSE, T0)
        assert (after is None) == (decided is Clawback.NONE), status
