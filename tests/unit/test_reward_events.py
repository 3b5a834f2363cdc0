"""What events do to a reward: duplicated, late and out-of-order events never pay a reward twice, never
pay one in review without an approval, and only ever make the moves the transition table has."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from referral_engine.domain.models import Reward
from referral_engine.domain.models import RewardStatus as W
from referral_engine.domain.reward_events import EFFECTS, RewardEvent, moved, status_after
from referral_engine.domain.states import REWARDS

E = RewardEvent
HANDED_OUT = {W.RELEASED, W.FULFILLED}


def reward(status: W) -> Reward:
    return Reward(
        id="rwd_1",
        referral_id="ref_1",
        campaign_id="cmp_1",
        recipient="advocate",
        recipient_code="ada-code",
        amount=Decimal("10.00"),
        currency="EUR",
        status=status,
        created_at=datetime(2026, 12, 1, tzinfo=UTC),
    )


def test_a_held_reward_is_released_then_fulfilled() -> None:
    held = reward(W.PENDING)
    released = moved(held, E.RELEASE)
    assert released is not None
    fulfilled = moved(released, E.FULFIL)
    assert fulfilled is not None

    assert (released.status, fulfilled.status) == (W.RELEASED, W.FULFILLED)
    assert fulfilled.id == held.id


@pytest.mark.parametrize(
    ("status", "target"),
    [
        (W.PENDING, W.CANCELLED),
        (W.IN_REVIEW, W.CANCELLED),
        (W.FAILED, W.CANCELLED),
        (W.RELEASED, W.CLAWED_BACK),
        (W.FULFILLED, W.CLAWED_BACK),
    ],
)
def test_a_reversal_cancels_a_reward_not_handed_out_and_claws_back_one_that_was(status: W, target: W) -> None:
    assert status_after(status, E.REVERSE) == target


def test_events_that_do_not_apply_have_no_effect() -> None:
    assert moved(reward(W.FULFILLED), E.RELEASE) is None  # a second release from a retried schedule
    assert moved(reward(W.CANCELLED), E.REVERSE) is None  # a second refund
    assert moved(reward(W.RELEASED), E.APPROVE) is None  # a decision on a reward no longer in review
    assert moved(reward(W.CLAWED_BACK), E.FULFIL) is None


def test_every_effect_is_a_move_of_the_transition_table() -> None:
    moves = {(source, target) for effect in EFFECTS.values() for source, target in effect.items()}
    assert all(REWARDS.allows(source, target) for source, target in moves)


@given(
    entry=st.sampled_from(sorted(REWARDS.entry)),
    events=st.lists(st.sampled_from(list(RewardEvent)), max_size=30),
)
def test_any_sequence_of_events_keeps_the_table_and_pays_at_most_once(
    entry: W, events: list[RewardEvent]
) -> None:
    status = entry
    paid = int(entry is W.FULFILLED)  # an account credit is created fulfilled
    in_review_unapproved = False
    reversed_ = False
    for event in events:
        target = status_after(status, event)
        if target is None:
            continue
        assert REWARDS.allows(status, target)
        assert not reversed_, "a reversal is final"
        if target is W.IN_REVIEW:
            in_review_unapproved = True
        if status is W.IN_REVIEW and event is E.APPROVE:
            in_review_unapproved = False
        if target in HANDED_OUT:
            assert not in_review_unapproved, "a reward in review is handed out only after an approval"
        paid += target is W.FULFILLED
        reversed_ = event is E.REVERSE
        status = target

    assert paid <= 1
    assert status in set(W)
    if reversed_:
        assert status in REWARDS.terminal
