"""What a reversal does to each reward of the reversed referral (docs/adr/0020).

Before it is handed over a reward is cancelled; an account credit already handed over is debited
back (the balance may go negative: later credits net against it, as a ledger's do); a provider's
reward (a gift card, a payout: issue 12) is cancelled at the provider, or, when it cannot be, put in
the review queue as "clawback needed" and left `fulfilled` (domain/reward_events.py says why).
"""

from __future__ import annotations

from enum import StrEnum

from referral_engine.domain.models import CREDIT, Reward
from referral_engine.domain.models import RewardStatus as W


class Clawback(StrEnum):
    NONE = "none"  # cancelled or clawed back already
    CANCEL = "cancel"  # not handed over: cancelled
    UNDO_RELEASE = "undo_release"  # a credit released but not yet credited: clawed back, no debit
    DEBIT = "debit"  # a credit handed over: clawed back with a ledger debit
    PROVIDER = "provider"  # handed to a provider: cancelled there, or a review item


def clawback_for(reward: Reward) -> Clawback:
    if reward.status in (W.CANCELLED, W.CLAWED_BACK):
        return Clawback.NONE
    if reward.status in (W.PENDING, W.IN_REVIEW, W.FAILED):
        return Clawback.CANCEL
    if reward.fulfilment != CREDIT:
        return Clawback.PROVIDER
    return Clawback.UNDO_RELEASE if reward.status is W.RELEASED else Clawback.DEBIT
