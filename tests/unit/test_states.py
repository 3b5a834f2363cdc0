"""The state machines of referrals and rewards: the rules of the business their tables must keep."""

from __future__ import annotations

from enum import StrEnum

import pytest
from hypothesis import given
from hypothesis import strategies as st

from referral_engine.domain.errors import IllegalTransition
from referral_engine.domain.models import ReferralStatus as R
from referral_engine.domain.models import RewardStatus as W
from referral_engine.domain.states import REFERRALS, REWARDS, StateMachine
from referral_engine.web.errors import status_for

MACHINES = [pytest.param(REFERRALS, id="referral"), pytest.param(REWARDS, id="reward")]


@pytest.mark.parametrize("machine", MACHINES)
def test_every_status_can_be_reached_from_where_the_entity_starts(machine: StateMachine[StrEnum]) -> None:
    reached = set(machine.entry).union(*(machine.reachable_from(start) for start in machine.entry))
    assert reached == set(type(next(iter(machine.entry))))


def test_only_an_approved_review_leads_a_referral_back_to_pending_and_nothing_a_reward() -> None:
    assert REFERRALS.sources_of(R.PENDING) == {R.IN_REVIEW}
    assert not REWARDS.sources_of(W.PENDING)


def test_the_terminal_states_are_the_final_decisions() -> None:
    assert REFERRALS.terminal == {R.REJECTED, R.REVERSED}
    assert REWARDS.terminal == {W.CANCELLED, W.CLAWED_BACK}


def test_a_referral_is_rewarded_only_from_qualified_and_at_most_once() -> None:
    assert REFERRALS.sources_of(R.REWARDED) == {R.QUALIFIED}
    assert R.REWARDED not in REFERRALS.reachable_from(R.REWARDED)
    assert R.QUALIFIED not in REFERRALS.reachable_from(R.REWARDED)


def test_a_reversal_undoes_only_a_qualification_and_a_pending_one_goes_through_qualified() -> None:
    assert REFERRALS.sources_of(R.REVERSED) == {R.QUALIFIED, R.REWARDED}
    REFERRALS.require(R.PENDING, R.QUALIFIED, R.REVERSED)  # the held reversal's one write
    with pytest.raises(IllegalTransition):
        REFERRALS.require(R.PENDING, R.REVERSED)


def test_a_reward_is_cancelled_before_it_is_handed_out_and_clawed_back_after() -> None:
    handed_out = {W.RELEASED, W.FULFILLED}
    assert REWARDS.sources_of(W.CLAWED_BACK) <= handed_out
    assert not REWARDS.sources_of(W.CANCELLED) & handed_out
    assert W.PENDING not in REWARDS.reachable_from(W.RELEASED)


def test_a_reward_is_created_held_or_fulfilled_as_an_account_credit() -> None:
    for status in (W.PENDING, W.FULFILLED):
        REWARDS.require_entry(status)
    with pytest.raises(IllegalTransition, match="a reward cannot be created clawed_back"):
        REWARDS.require_entry(W.CLAWED_BACK)


@given(st.data())
def test_any_walk_along_the_table_keeps_the_referral_rules(data: st.DataObject) -> None:
    walk = [R.PENDING]
    while REFERRALS.moves[walk[-1]] and len(walk) < 12:
        walk.append(data.draw(st.sampled_from(sorted(REFERRALS.moves[walk[-1]]))))

    REFERRALS.require(*walk)  # the walk is accepted as one path too
    assert walk.count(R.REWARDED) <= 1
    for at, status in enumerate(walk):
        if status in (R.REWARDED, R.REVERSED):
            assert R.QUALIFIED in walk[:at]


def test_a_refused_move_is_a_conflict_with_a_stable_code() -> None:
    with pytest.raises(IllegalTransition) as refused:
        REFERRALS.require(R.PENDING, R.QUALIFIED, R.REWARDED, R.QUALIFIED)
    error = refused.value
    assert (error.code, error.entity, error.current, error.target) == (
        "illegal_transition",
        "referral",
        R.REWARDED,
        R.QUALIFIED,
    )
    assert error.message == "a referral cannot go from rewarded to qualified"
    assert status_for(error) == 409


def test_a_status_without_a_row_fails_when_the_table_is_built() -> None:
    moves: dict[R, frozenset[R]] = {status: frozenset() for status in R if status is not R.IN_REVIEW}
    with pytest.raises(ValueError, match="every status needs one row"):
        StateMachine[R](entity="referral", entry=frozenset({R.PENDING}), moves=moves)
