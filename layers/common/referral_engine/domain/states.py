"""The state machines of referrals and rewards: the one table of each entity's moves.

The services check a move here before the conditional write that makes it, and audit a refusal; the
DynamoDB adapter checks it again before writing (docs/adr/0009-state-machine-enforced.md).

An admin's decision on a referral in review (the review queue, docs/adr/0019) moves it back to
`pending` (approved: its held qualifying signal is replayed, so it qualifies as any other) or to
`rejected`.

A refund or chargeback reverses a `qualified` or `rewarded` referral. One that arrives while the
referral is still `pending` is held on it (see `domain/reversals.py`); when the payment it undoes
comes, the referral goes pending → qualified → reversed in one write: two moves, each in the table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from itertools import pairwise
from typing import Generic, TypeVar

from referral_engine.domain.errors import IllegalTransition
from referral_engine.domain.models import ReferralStatus, RewardStatus

S = TypeVar("S", bound=StrEnum)


@dataclass(frozen=True)
class StateMachine(Generic[S]):
    """Where an entity starts (`entry`) and which moves it may make from each status (`moves`)."""

    entity: str
    entry: frozenset[S]
    moves: Mapping[S, frozenset[S]]

    def __post_init__(self) -> None:
        # A status added to the enum without a row here fails at import, not in production.
        statuses = set(type(next(iter(self.entry))))
        if set(self.moves) != statuses:
            raise ValueError(f"{self.entity}: every status needs one row of moves")

    def allows(self, current: S, target: S) -> bool:
        return target in self.moves[current]

    def require(self, current: S, *path: S) -> None:
        """Raises IllegalTransition unless each step of `path` is a move from the one before it."""
        for source, target in pairwise((current, *path)):
            if not self.allows(source, target):
                raise IllegalTransition(self.entity, source, target)

    def require_entry(self, status: S) -> None:
        """Raises IllegalTransition unless the entity may be created in `status`."""
        if status not in self.entry:
            raise IllegalTransition(self.entity, None, status)

    def sources_of(self, target: S) -> frozenset[S]:
        """The statuses with a move to `target`."""
        return frozenset(status for status, targets in self.moves.items() if target in targets)

    def reachable_from(self, status: S) -> frozenset[S]:
        """Every status some sequence of moves leads to from `status` (itself only through a cycle)."""
        seen: set[S] = set()
        frontier = set(self.moves[status])
        while frontier:
            seen |= frontier
            frontier = {target for source in frontier for target in self.moves[source]} - seen
        return frozenset(seen)

    @property
    def terminal(self) -> frozenset[S]:
        return frozenset(status for status, targets in self.moves.items() if not targets)


R = ReferralStatus
REFERRALS: StateMachine[ReferralStatus] = StateMachine(
    entity="referral",
    # In review when the campaign's fraud policy sends a signup there (docs/adr/0018).
    entry=frozenset({R.PENDING, R.IN_REVIEW}),
    moves={
        R.PENDING: frozenset({R.QUALIFIED, R.IN_REVIEW, R.REJECTED}),
        R.QUALIFIED: frozenset({R.REWARDED, R.IN_REVIEW, R.REVERSED}),
        # An admin's decision: approved back to pending (then qualified by its signal), or rejected.
        # Never straight to qualified: the only way to a reward is the pipeline (docs/adr/0019).
        R.IN_REVIEW: frozenset({R.PENDING, R.REJECTED}),
        R.REWARDED: frozenset({R.REVERSED}),
        R.REJECTED: frozenset(),
        R.REVERSED: frozenset(),
    },
)

W = RewardStatus
REWARDS: StateMachine[RewardStatus] = StateMachine(
    entity="reward",
    # Held until its release time (pending), or fulfilled at once (account credit, as today).
    entry=frozenset({W.PENDING, W.FULFILLED}),
    moves={
        W.PENDING: frozenset({W.RELEASED, W.FULFILLED, W.IN_REVIEW, W.CANCELLED}),
        W.IN_REVIEW: frozenset({W.RELEASED, W.CANCELLED}),
        W.RELEASED: frozenset({W.FULFILLED, W.FAILED, W.CLAWED_BACK}),
        W.FAILED: frozenset({W.RELEASED, W.CANCELLED}),  # an admin retries it or gives it up
        W.FULFILLED: frozenset({W.CLAWED_BACK}),
        W.CANCELLED: frozenset(),
        W.CLAWED_BACK: frozenset(),
    },
)

# The statuses a reversal (refund, chargeback) moves to `reversed`.
REVERSIBLE: frozenset[ReferralStatus] = REFERRALS.sources_of(R.REVERSED)
