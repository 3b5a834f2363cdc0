"""Does a signal reach the campaign's milestone for this referral?"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from referral_engine.domain.models import Milestone, Referral, Signal

# Vendors' clocks and ours disagree a little; an event stamped minutes before the signup still counts.
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class MilestoneDecision:
    reached: bool
    reason: str


def evaluate(milestone: Milestone, signal: Signal, referral: Referral) -> MilestoneDecision:
    if milestone.min_amount is not None:
        if signal.amount is None:
            return MilestoneDecision(False, "the milestone needs an amount and the signal has none")
        if signal.amount < milestone.min_amount:
            return MilestoneDecision(False, f"amount {signal.amount} is below {milestone.min_amount}")
    if milestone.currency is not None and signal.currency != milestone.currency:
        return MilestoneDecision(False, f"currency {signal.currency} is not {milestone.currency}")
    if milestone.within_days is not None:
        happened = signal.occurred_at or signal.received_at
        if happened < referral.joined_at - CLOCK_SKEW:
            return MilestoneDecision(False, "it happened before the signup")
        if happened - referral.joined_at > timedelta(days=milestone.within_days):
            return MilestoneDecision(False, f"more than {milestone.within_days} days after signup")
    return MilestoneDecision(True, "milestone reached")
