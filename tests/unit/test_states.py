"""The referral state machine."""

from __future__ import annotations

import pytest

from referral_engine.domain.models import ReferralStatus as S
from referral_engine.domain.states import TRANSITIONS, IllegalTransition, can_transition, require_transition


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.PENDING, S.QUALIFIED),
        (S.PENDING, S.IN_REVIEW),
        (S.PENDING, S.REJECTED),
        (S.QUALIFIED, S.REWARDED),
        (S.QUALIFIED, S.REVERSED),
        (S.IN_REVIEW, S.QUALIFIED),
        (S.IN_REVIEW, S.REJECTED),
        (S.REWARDED, S.REVERSED),
    ],
)
def test_allowed_transitions(current: S, target: S) -> None:
    assert can_transition(current, target)
    require_transition(current, target)  # does not raise


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.REWARDED, S.PENDING),
        (S.REWARDED, S.QUALIFIED),
        (S.QUALIFIED, S.PENDING),
        (S.PENDING, S.REWARDED),  # rewards need a qualification first
        (S.PENDING, S.REVERSED),
        (S.PENDING, S.PENDING),
        (S.QUALIFIED, S.QUALIFIED),
    ],
)
def test_refused_transitions(current: S, target: S) -> None:
    assert not can_transition(current, target)
    with pytest.raises(IllegalTransition) as raised:
        require_transition(current, target)
    assert (raised.value.current, raised.value.target) == (current, target)
    assert f"from {current} to {target}" in str(raised.value)


@pytest.mark.parametrize("terminal", [S.REJECTED, S.REVERSED])
def test_terminal_states_go_nowhere(terminal: S) -> None:
    assert not any(can_transition(terminal, target) for target in S)


def test_every_status_is_in_the_table_and_nothing_leads_back_to_pending() -> None:
    assert set(TRANSITIONS) == set(S)
    assert all(S.PENDING not in targets for targets in TRANSITIONS.values())
