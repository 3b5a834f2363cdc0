"""Taking a reversed referral's rewards back, exactly once (docs/adr/0020, domain/clawbacks.py).

Driven by `referral.reversed` (issue_reward's function), and by the release schedule when it finds a
due reward's referral reversed. Every write is conditional on the reward's status as read: a reward
that moved meanwhile (the schedule released or fulfilled it) is read again and taken back from where
it is now. A reversed referral is reversed for good, and the schedule neither releases nor fulfils
a reward of one, so the rewards end cancelled or clawed back, each debited at most once.
"""

from __future__ import annotations

from enum import StrEnum

from referral_engine.domain.clawbacks import Clawback, clawback_for
from referral_engine.domain.errors import NotFound
from referral_engine.domain.events import ReferralReversed
from referral_engine.domain.models import AuditEntry, Referral, ReferralStatus, Reward, utcnow
from referral_engine.domain.reward_events import RewardEvent
from referral_engine.domain.rewards import moved_at, reward_audit
from referral_engine.ports import ReferralStore, ReviewQueue, RewardLedger, RewardProviders

# A reward moves at most twice (released, fulfilled) while a clawback reads and writes it.
_ATTEMPTS = 4


class ClawbackOutcome(StrEnum):
    CANCELLED = "cancelled"
    CLAWED_BACK = "clawed_back"
    REVIEW = "review"  # its provider could not take it back: a `clawback` review item
    NOTHING = "nothing"  # cancelled or clawed back already


class RewardMovedOn(RuntimeError):
    """The reward kept moving under the clawback: raised for Lambda to retry it."""


class NoProviders:
    """No provider hands out rewards yet (account credits only, until issue 12)."""

    def cancel(self, reward: Reward) -> bool:
        raise LookupError(f"no reward provider {reward.fulfilment!r} is configured")


class ClawbackService:
    def __init__(
        self,
        referrals: ReferralStore,
        ledger: RewardLedger,
        providers: RewardProviders,
        reviews: ReviewQueue,
    ) -> None:
        self._referrals = referrals
        self._ledger = ledger
        self._providers = providers
        self._reviews = reviews

    def claw_back(self, event: ReferralReversed, actor: str) -> dict[str, ClawbackOutcome]:
        """Each reward's outcome by its id; none while the referral is not reversed (not ours to undo)."""
        referral = self._referrals.get(event.referral_id)
        if referral is None:
            raise NotFound(f"no referral {event.referral_id}")
        if referral.status is not ReferralStatus.REVERSED:
            return {}
        return {
            reward.id: self.take_back(referral, reward, actor)
            for reward in self._ledger.of_referral(referral.id)
        }

    def take_back(self, referral: Referral, reward: Reward, actor: str) -> ClawbackOutcome:
        current: Reward | None = reward
        reason = f"the referral was reversed: {referral.reversed_by or 'a reversal'}"
        for _ in range(_ATTEMPTS):
            if current is None:
                return ClawbackOutcome.NOTHING
            plan = clawback_for(current)
            if plan is Clawback.NONE:
                return ClawbackOutcome.NOTHING
            if plan is Clawback.PROVIDER and not self._providers.cancel(current):
                return self._review(referral, current, actor, reason)
            now = utcnow()
            after = moved_at(current, RewardEvent.REVERSE, now)
            if after is None:  # clawback_for and the table disagree: a defect, not a race
                raise RuntimeError(f"a reversal does not apply to a {current.status} reward")
            why = f"{reason}; cancelled at its provider" if plan is Clawback.PROVIDER else reason
            write = self._ledger.move(
                current,
                after,
                reward_audit(current, after, actor, now, why),
                credit=-current.amount if plan is Clawback.DEBIT else None,
            )
            if write.applied:
                return ClawbackOutcome(after.status.value)
            current = write.current
        raise RewardMovedOn(f"reward {reward.id} kept moving while it was taken back")

    def _review(self, referral: Referral, reward: Reward, actor: str, reason: str) -> ClawbackOutcome:
        self._reviews.open_clawback(referral, reward, f"{reason}; its provider could not take it back")
        self._referrals.append_audit(
            AuditEntry(
                referral_id=referral.id,
                at=utcnow(),
                action="reward.clawback_needed",
                actor=actor,
                detail={"reward_id": reward.id, "recipient": reward.recipient, "reason": reason},
            )
        )
        return ClawbackOutcome.REVIEW
