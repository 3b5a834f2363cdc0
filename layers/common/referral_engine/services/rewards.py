"""Issuing the campaign's rewards for a qualified referral, exactly once."""

from __future__ import annotations

from enum import StrEnum

from referral_engine.domain.errors import NotFound
from referral_engine.domain.events import ReferralQualified
from referral_engine.domain.models import AuditEntry, Referral, ReferralStatus, utcnow
from referral_engine.domain.rewards import rewards_for
from referral_engine.domain.states import REFERRALS, REWARDS
from referral_engine.ports import CampaignStore, ReferralStore
from referral_engine.services.transitions import require_moves

# Where a referral may have gone since the event that announced it qualified: no error, and no reward.
# Not `pending`: only an approved review leads back there, and nothing sends a qualified referral to
# review (docs/adr/0019), so a pending referral was never qualified: an illegal move, audited.
_MOVED_ON = REFERRALS.reachable_from(ReferralStatus.QUALIFIED) - {
    ReferralStatus.QUALIFIED,
    ReferralStatus.PENDING,
}


class RewardOutcome(StrEnum):
    ISSUED = "issued"
    DUPLICATE = "duplicate"
    SKIPPED = "skipped"  # the referral went to review or was reversed meanwhile


class RewardService:
    def __init__(self, campaigns: CampaignStore, referrals: ReferralStore) -> None:
        self._campaigns = campaigns
        self._referrals = referrals

    def issue(self, event: ReferralQualified) -> RewardOutcome:
        """Raises IllegalTransition (audited) for a referral that was never qualified."""
        referral = self._referrals.get(event.referral_id)
        if referral is None:
            raise NotFound(f"no referral {event.referral_id}")
        if referral.status in _MOVED_ON:
            return self._not_qualified(referral)
        campaign = self._campaigns.get(referral.campaign_id)
        if campaign is None:
            raise NotFound(f"no campaign {referral.campaign_id}")

        now = utcnow()
        rewards = rewards_for(campaign, referral, now)
        for reward in rewards:
            REWARDS.require_entry(reward.status)
        audit = AuditEntry(
            referral_id=referral.id,
            at=now,
            action="referral.rewarded",
            actor="system:issue_reward",
            from_status=ReferralStatus.QUALIFIED,
            to_status=ReferralStatus.REWARDED,
            detail={"rewards": [f"{r.recipient} {r.amount} {r.currency}" for r in rewards]},
        )
        require_moves(self._referrals, referral, audit)
        result = self._referrals.record_rewards(referral, rewards, audit)
        return RewardOutcome.ISSUED if result.applied else self._not_qualified(result.current)

    @staticmethod
    def _not_qualified(referral: Referral) -> RewardOutcome:
        if referral.status is ReferralStatus.REWARDED:
            return RewardOutcome.DUPLICATE
        return RewardOutcome.SKIPPED
