"""Turning a stored signal into a qualified — or reversed — referral, exactly once, and announcing it.

A qualifying signal moves a `pending` referral to `qualified` when it reaches the campaign's milestone.
A reversal signal (a refund, a chargeback) moves a `qualified` or `rewarded` one to `reversed`; one
that arrives while the referral is still `pending` is held on it until the payment it undoes comes
(`domain/reversals.py`). Every move is checked against the state machine (`domain/states.py`), then
made by a conditional write with its audit entry; a write that loses a race re-reads the referral and
decides again.
"""

from __future__ import annotations

from datetime import UTC
from enum import StrEnum
from typing import Any

from referral_engine.domain.errors import UnmatchedSignal
from referral_engine.domain.events import ReferralQualified, ReferralReversed, SignalRef
from referral_engine.domain.milestone import MilestoneDecision, evaluate
from referral_engine.domain.models import (
    AuditEntry,
    Referral,
    ReferralStatus,
    Signal,
    SignalKind,
    utcnow,
)
from referral_engine.domain.records import json_values
from referral_engine.domain.reversals import (
    HeldReversal,
    Reversal,
    can_be_held,
    happened_at,
    not_of_the_qualification,
    reason_for,
)
from referral_engine.domain.states import REVERSIBLE
from referral_engine.ports import CampaignStore, EventPublisher, ParticipantStore, ReferralStore
from referral_engine.services.matching import ReferralMatcher
from referral_engine.services.transitions import require_moves

# A conditional write that keeps losing to other writers is retried this often before giving up
# (the stream retries the record later): each loss means the referral moved, so this is plenty.
_ATTEMPTS = 4
# Where a payment's reversal is held until the payment it undoes comes: in review too, since an
# approval replays the payment held meanwhile (docs/adr/0019), which must then meet its refund.
_UNQUALIFIED = frozenset({ReferralStatus.PENDING, ReferralStatus.IN_REVIEW})


class Outcome(StrEnum):
    QUALIFIED = "qualified"
    REPUBLISHED = "republished"  # we moved it before but may have crashed before announcing it
    DUPLICATE = "duplicate"
    NOT_REACHED = "milestone_not_reached"
    IGNORED = "ignored"  # the referral is in a state this signal does not move
    REVERSED = "reversed"
    HELD = "reversal_held"  # a reversal for a referral still pending: kept until its payment comes
    HELD_FOR_REVIEW = "held_for_review"  # the referral awaits an admin's decision: never paid before it


class ReferralKeptMoving(RuntimeError):
    """Transient: other writers kept changing the referral; the platform retries the signal."""


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
        if signal.kind is SignalKind.REVERSE:
            return self._reverse(referral, signal)
        if referral.status not in (ReferralStatus.PENDING, ReferralStatus.IN_REVIEW):
            return self._already_moved(referral, signal)

        decision = evaluate(campaign.milestone, signal, referral)
        if not decision.reached:
            self._note(referral, signal, "signal.milestone_not_reached", {"reason": decision.reason})
            return Outcome.NOT_REACHED
        if referral.status is ReferralStatus.IN_REVIEW:
            return self._held_for_review(referral, signal)
        return self._qualify(referral, signal, decision)

    # ------------------------------------------------------------------------------- qualifying

    def _qualify(self, referral: Referral, signal: Signal, decision: MilestoneDecision) -> Outcome:
        despite: HeldReversal | None = None
        for _ in range(_ATTEMPTS):
            audit = AuditEntry(
                referral_id=referral.id,
                at=utcnow(),
                action="referral.qualified",
                actor=f"signal:{signal.key}",
                from_status=ReferralStatus.PENDING,
                to_status=ReferralStatus.QUALIFIED,
                detail={"reason": decision.reason},
            )
            require_moves(self._referrals, referral, audit)
            result = self._referrals.mark_qualified(
                referral,
                signal.key,
                audit,
                despite=despite,
                payment_ids=signal.payment_ids,
                milestone_at=happened_at(signal).astimezone(UTC),
            )
            if result.applied:
                self._announce(result.current, signal)
                return Outcome.QUALIFIED
            referral = result.current
            if referral.status is not ReferralStatus.PENDING:
                return self._already_moved(referral, signal)
            # Still pending: a reversal is held on it (or another one than the one we had seen).
            hold = self._referrals.held_reversal(referral.id)
            if hold is not None and hold.undoes(signal):
                return self._qualify_into_reversal(referral, signal, decision, hold)
            despite = hold  # a refund of an earlier payment: this later one qualifies
        raise ReferralKeptMoving(f"referral {referral.id} kept changing while qualifying it")

    def _qualify_into_reversal(
        self, referral: Referral, signal: Signal, decision: MilestoneDecision, hold: HeldReversal
    ) -> Outcome:
        """The payment a held reversal undoes has come: qualified and reversed at once, never announced
        as qualified, so no reward is issued."""
        now = utcnow()
        qualified = AuditEntry(
            referral_id=referral.id,
            at=now,
            action="referral.qualified",
            actor=f"signal:{signal.key}",
            from_status=ReferralStatus.PENDING,
            to_status=ReferralStatus.QUALIFIED,
            detail={"reason": decision.reason, "reversed_at_once_by": hold.signal_key},
        )
        reversal = Reversal(
            at=now,
            reason=f"{hold.reason}, held since {hold.held_at.isoformat()} until the payment it undoes came",
            signal=hold.signal,
            previous_status=ReferralStatus.PENDING,
            applied_by=signal.key,
        )
        reversed_ = _reversed_audit(referral, reversal, ReferralStatus.QUALIFIED)
        require_moves(self._referrals, referral, qualified, reversed_)
        result = self._referrals.qualify_into_reversal(referral, signal.key, qualified, reversed_, reversal)
        if not result.applied:
            return self._already_moved(result.current, signal)
        self._publisher.publish_reversed(_reversed_event(result.current, reversal, signal.correlation_id))
        return Outcome.REVERSED

    def _held_for_review(self, referral: Referral, signal: Signal) -> Outcome:
        """A referral in review is not qualified, whatever its signals say (docs/adr/0018): the first
        signal that reaches the milestone is kept on it, for an approval to replay (docs/adr/0019).
        Decided meanwhile: the signal is processed as the referral now is."""
        audit = AuditEntry(
            referral_id=referral.id,
            at=utcnow(),
            action="signal.held_for_review",
            actor=f"signal:{signal.key}",
            detail={"signal": json_values(_ref(signal))},
        )
        if self._referrals.hold_for_review(referral, signal, audit) == "not_in_review":
            return self.process(signal)
        return Outcome.HELD_FOR_REVIEW

    def _note(self, referral: Referral, signal: Signal, action: str, detail: dict[str, Any]) -> None:
        """An audit entry of what a signal did not do to the referral, and why."""
        self._referrals.append_audit(
            AuditEntry(
                referral_id=referral.id,
                at=utcnow(),
                action=action,
                actor=f"signal:{signal.key}",
                detail=detail,
            )
        )

    def _already_moved(self, referral: Referral, signal: Signal) -> Outcome:
        if referral.status is ReferralStatus.QUALIFIED and referral.qualified_by == signal.key:
            self._announce(referral, signal)
            return Outcome.REPUBLISHED
        if referral.status in (ReferralStatus.QUALIFIED, ReferralStatus.REWARDED):
            return Outcome.DUPLICATE
        if referral.status is ReferralStatus.REVERSED and referral.qualified_by in _keys(signal):
            # This payment may have met a held reversal: announce it if a crash kept us from it.
            return self._republish_reversal(referral, signal) or Outcome.IGNORED
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
                signal=_ref(signal),
                correlation_id=signal.correlation_id,
            )
        )

    # -------------------------------------------------------------------------------- reversing

    def _reverse(self, referral: Referral, signal: Signal) -> Outcome:
        for _ in range(_ATTEMPTS):
            status = referral.status
            if status in _UNQUALIFIED and not can_be_held(signal):
                return self._reversal_ignored(
                    referral, signal, f"{reason_for(signal)}: the referral never reached its milestone"
                )
            if status in _UNQUALIFIED:
                outcome = self._hold(referral, signal)
            elif status in REVERSIBLE and (unrelated := not_of_the_qualification(referral, signal)):
                return self._reversal_ignored(referral, signal, unrelated)
            elif status in REVERSIBLE:
                outcome = self._mark_reversed(referral, signal)
            elif status is ReferralStatus.REVERSED:
                return self._republish_reversal(referral, signal) or Outcome.DUPLICATE
            else:
                return self._reversal_ignored(referral, signal)
            if isinstance(outcome, Outcome):
                return outcome
            referral = outcome  # it moved meanwhile: decide again on what it is now
        raise ReferralKeptMoving(f"referral {referral.id} kept changing while reversing it")

    def _hold(self, referral: Referral, signal: Signal) -> Outcome | Referral:
        now = utcnow()
        hold = HeldReversal.of(signal, now)
        audit = AuditEntry(
            referral_id=referral.id,
            at=now,
            action="referral.reversal_held",
            actor=f"signal:{signal.key}",
            detail={
                "reason": f"{hold.reason} before any payment qualified the referral: held until the "
                "payment it undoes comes",
                "occurred_at": hold.occurred_at.isoformat(),
                "signal": json_values(hold.signal),
            },
        )
        result = self._referrals.hold_reversal(referral, hold, audit)
        return Outcome.HELD if result.applied else result.current

    def _mark_reversed(self, referral: Referral, signal: Signal) -> Outcome | Referral:
        reversal = Reversal(
            at=utcnow(),
            reason=reason_for(signal),
            signal=_ref(signal),
            previous_status=referral.status,
            applied_by=signal.key,
        )
        audit = _reversed_audit(referral, reversal, referral.status)
        require_moves(self._referrals, referral, audit)
        result = self._referrals.mark_reversed(referral, reversal, audit)
        if not result.applied:
            return result.current
        self._publisher.publish_reversed(_reversed_event(result.current, reversal, signal.correlation_id))
        return Outcome.REVERSED

    def _reversal_ignored(self, referral: Referral, signal: Signal, reason: str | None = None) -> Outcome:
        """Rejected: not ours to move; the entry tells whoever looks at it. Or not about
        this referral's qualification at all (`reason` says why)."""
        self._note(
            referral,
            signal,
            "signal.reversal_ignored",
            {
                "reason": reason or f"{reason_for(signal)} while the referral is {referral.status}",
                "signal": json_values(_ref(signal)),
            },
        )
        return Outcome.IGNORED

    def _republish_reversal(self, referral: Referral, signal: Signal) -> Outcome | None:
        """The reversal again when this very signal applied it: we may have crashed before announcing
        it (the refund itself, or the payment that met a held refund)."""
        reversal = self._referrals.reversal_of(referral.id)
        if reversal is None or reversal.applied_by not in _keys(signal):
            return None
        self._publisher.publish_reversed(_reversed_event(referral, reversal, signal.correlation_id))
        return Outcome.REPUBLISHED


def _ref(signal: Signal) -> SignalRef:
    return SignalRef(
        source=signal.source, event_id=signal.event_id, amount=signal.amount, currency=signal.currency
    )


def _keys(signal: Signal) -> set[str]:
    """The signal's key, and the original's when an admin redrove it under a new event id."""
    keys = {signal.key}
    if signal.redrive_of:
        keys.add(f"{signal.source}:{signal.redrive_of}")
    return keys


def _reversed_audit(referral: Referral, reversal: Reversal, from_status: ReferralStatus) -> AuditEntry:
    detail: dict[str, Any] = json_values(reversal, exclude={"at"})
    if reversal.rewards_issued:
        # The clawback follows from the `referral.reversed` event (services/clawbacks.py, docs/adr/0020).
        detail["rewards_issued_at"] = referral.rewarded_at.isoformat() if referral.rewarded_at else None
        detail["clawback"] = "requested: the rewards issued are cancelled or clawed back"
    return AuditEntry(
        referral_id=referral.id,
        at=reversal.at,
        action="referral.reversed",
        actor=f"signal:{reversal.signal_key}",
        from_status=from_status,
        to_status=ReferralStatus.REVERSED,
        detail=detail,
    )


def _reversed_event(referral: Referral, reversal: Reversal, correlation_id: str | None) -> ReferralReversed:
    return ReferralReversed(
        referral_id=referral.id,
        campaign_id=referral.campaign_id,
        advocate_code=referral.advocate_code,
        referred_code=referral.referred_code,
        reversed_at=reversal.at,
        previous_status=reversal.previous_status,
        reason=reversal.reason,
        rewards_issued=reversal.rewards_issued,
        signal=reversal.signal,
        correlation_id=correlation_id,
    )
