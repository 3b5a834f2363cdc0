"""Turning a stored signal into a qualified referral, exactly once, and announcing it."""

from __future__ import annotations

from enum import StrEnum

from referral_engine.domain.errors import UnmatchedSignal
from referral_engine.domain.events import ReferralQualified, SignalRef
from referral_engine.domain.milestone import evaluate
from referral_engine.domain.models import AuditEntry, Referral, ReferralStatus, Signal, utcnow
from referral_engine.ports import CampaignStore, EventPublisher, ParticipantStore, ReferralStore
from referral_engine.services.matching import ReferralMatcher


class Outcome(StrEnum):
    QUALIFIED = "qualified"
    REPUBLISHED = "republished"  # we qualified it before but may have crashed before announcing it
    DUPLICATE = "duplicate"
    NOT_REACHED = "milestone_not_reached"
    IGNORED = "ignored"  # the referral is in a state this signal does not move


class QualificationService:
    def __init__(
        self,
        campaigns: CampaignStore,
        participants: ParticipantStore,
        referrals: ReferralStore,
        publisher: EventPublisher,
    ) -> None:
        self._campaigns = campaigns
        self._referrals = referrals
        self._publisher = publisher
        self._matcher = ReferralMatcher(participants, referrals)

    def process(self, signal: Signal) -> Outcome:
        """Raises UnmatchedSignal (permanent) when no referral of the signal's campaign matches it."""
        referral = self._matcher.find(signal)
        if referral is None:
            raise UnmatchedSignal("no referral in this campaign matches the signal")
        campaign = self._campaigns.get(referral.campaign_id)
        if campaign is None:
            raise UnmatchedSignal(f"referral {referral.id} has no campaign {referral.campaign_id}")
        if referral.status is not ReferralStatus.PENDING:
            return self._already_moved(referral, signal)

        decision = evaluate(campaign.milestone, signal, referral)
        if not decision.reached:
            self._referrals.append_audit(
                AuditEntry(
                    referral_id=referral.id,
                    at=utcnow(),
                    action="signal.milestone_not_reached",
                    actor=f"signal:{signal.key}",
                    detail={"reason": decision.reason},
                )
            )
            return Outcome.NOT_REACHED

        now = utcnow()
        audit = AuditEntry(
            referral_id=referral.id,
            at=now,
            action="referral.qualified",
            actor=f"signal:{signal.key}",
            from_status=ReferralStatus.PENDING,
            to_status=ReferralStatus.QUALIFIED,
            detail={"reason": decision.reason},
        )
        result = self._referrals.mark_qualified(referral, signal.key, audit)
        if not result.applied:
            return self._already_moved(result.current, signal)
        self._announce(result.current, signal)
        return Outcome.QUALIFIED

    def _already_moved(self, referral: Referral, signal: Signal) -> Outcome:
        if referral.status is ReferralStatus.QUALIFIED and referral.qualified_by == signal.key:
            self._announce(referral, signal)
            return Outcome.REPUBLISHED
        if referral.status in (ReferralStatus.QUALIFIED, ReferralStatus.REWARDED):
            return Outcome.DUPLICATE
        return Outcome.IGNORED

    def _announce(self, referral: Referral, signal: Signal) -> None:
        if referral.qualified_at is None:
            raise RuntimeError(f"referral {referral.id} is {referral.status} without a qualified_at")
        self._publisher.publish_qualified(
            ReferralQualified(
                referral_id=referral.id,
                campaign_id=referral.campaign_id,
                advocate_code=referral.advocate_code,
                referred_code=referral.referred_code,
                qualified_at=referral.qualified_at,
                signal=SignalRef(
                    source=signal.source,
                    event_id=signal.event_id,
                    amount=signal.amount,
                    currency=signal.currency,
                ),
            )
        )
