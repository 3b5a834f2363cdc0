"""The referral state machine: which transitions exist. Storage enforces them with conditional writes."""

from __future__ import annotations

from referral_engine.domain.models import ReferralStatus as S

TRANSITIONS: dict[S, frozenset[S]] = {
    S.PENDING: frozenset({S.QUALIFIED, S.IN_REVIEW, S.REJECTED}),
    S.QUALIFIED: frozenset({S.REWARDED, S.IN_REVIEW, S.REVERSED}),
    S.IN_REVIEW: frozenset({S.QUALIFIED, S.REWARDED, S.REJECTED}),
    S.REWARDED: frozenset({S.REVERSED}),
    S.REJECTED: frozenset(),
    S.REVERSED: frozenset(),
}


class IllegalTransition(Exception):
    def __init__(self, current: S, target: S) -> None:
        super().__init__(f"a referral cannot go from {current} to {target}")
        self.current = current
        self.target = target


def can_transition(current: S, target: S) -> bool:
    return target in TRANSITIONS[current]


def require_transition(current: S, target: S) -> None:
    if not can_transition(current, target):
        raise IllegalTransition(current, target)
