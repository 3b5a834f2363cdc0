"""The referral state machine: which transitions exist. Storage enforces them with conditional writes.

A refund or chargeback reverses a `qualified` or `rewarded` referral. One that arrives while the
referral is still `pending` is held on it (see `domain/reversals.py`); when the payment it undoes
comes, the referral goes pending → qualified → reversed in one write, never pending → reversed directly.
"""

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


# The states a reversal (refund, chargeback) moves to `reversed`.
REVERSIBLE: frozenset[S] = frozenset(
    status for status, targets in TRANSITIONS.items() if S.REVERSED in targets
)


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
