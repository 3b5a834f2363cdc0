"""What happens to a reward, and the status each event moves it to: every move one of `REWARDS`'s
(domain/states.py), checked when this module is imported.

Events arrive duplicated, late and out of order (a schedule retries, a refund races a release, two
admins decide at once). An event that does not apply to a reward's status — a second release, an
approval of a reward no longer in review, a reversal of one already cancelled — has no effect:
`status_after` says None, an outcome for the caller to report, not an error. So whatever the order,
a reward is fulfilled (paid) at most once, a reward in review leaves it only by an admin's decision
or a reversal, and a reversal is final.

"Clawback needed" (a provider's reward that cannot be taken back) is a review item about the reversed
referral, not a reward status: the reward stays `fulfilled` until an admin records it `clawed_back`.
Were it `in_review`, an approval could release it a second time (docs/adr/0018).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from referral_engine.domain.models import Reward
from referral_engine.domain.models import RewardStatus as W
from referral_engine.domain.records import replace
from referral_engine.domain.states import REWARDS


class RewardEvent(StrEnum):
    RELEASE = "release"  # its hold period is over (the schedule)
    FULFIL = "fulfil"  # the ledger or the provider has handed it over
    FAIL = "fail"  # the provider refused it
    RETRY = "retry"  # an admin hands a failed reward to its provider again
    FLAG = "flag"  # a fraud check or an admin holds it for review
    APPROVE = "approve"  # an admin's decision on a reward in review
    REJECT = "reject"  # an admin's decision on a reward in review, or giving up a failed one
    # The qualifying payment was undone and the reward taken back: cancelled during its hold, or
    # clawed back after (a ledger debit, a provider's cancellation, an admin recording a clawback).
    REVERSE = "reverse"


EFFECTS: Mapping[RewardEvent, Mapping[W, W]] = {
    RewardEvent.RELEASE: {W.PENDING: W.RELEASED},
    RewardEvent.FULFIL: {W.RELEASED: W.FULFILLED},
    RewardEvent.FAIL: {W.RELEASED: W.FAILED},
    RewardEvent.RETRY: {W.FAILED: W.RELEASED},
    RewardEvent.FLAG: {W.PENDING: W.IN_REVIEW},
    RewardEvent.APPROVE: {W.IN_REVIEW: W.RELEASED},
    RewardEvent.REJECT: {W.IN_REVIEW: W.CANCELLED, W.FAILED: W.CANCELLED},
    # Before it is handed out a reward is cancelled; after, it is clawed back.
    RewardEvent.REVERSE: {
        W.PENDING: W.CANCELLED,
        W.IN_REVIEW: W.CANCELLED,
        W.FAILED: W.CANCELLED,
        W.RELEASED: W.CLAWED_BACK,
        W.FULFILLED: W.CLAWED_BACK,
    },
}


def _check_effects() -> None:
    """An effect the table lacks fails at import, not in production."""
    for moves in EFFECTS.values():
        for source, target in moves.items():
            REWARDS.require(source, target)


_check_effects()


def status_after(status: W, event: RewardEvent) -> W | None:
    """The status `event` moves a reward in `status` to; None when the event does not apply to it."""
    return EFFECTS[event].get(status)


def moved(reward: Reward, event: RewardEvent) -> Reward | None:
    """`reward` after `event` (its move checked against the table once more); None when it does not apply."""
    target = status_after(reward.status, event)
    if target is None:
        return None
    REWARDS.require(reward.status, target)
    return replace(reward, status=target)
