"""Finding the referral a signal is about."""

from __future__ import annotations

from referral_engine.domain.models import Participant, Referral, Signal, SignalKind
from referral_engine.ports import ParticipantStore, ReferralStore


class ReferralMatcher:
    def __init__(self, participants: ParticipantStore, referrals: ReferralStore) -> None:
        self._participants = participants
        self._referrals = referrals

    def find(self, signal: Signal) -> Referral | None:
        """The referral of the signal's campaign the signal names, trying in order (and stopping at the
        first hit): our referral id, the payment a reversal is about (recorded when it qualified), an
        external id stored at signup, the referred person's own code, their email."""
        match, campaign_id = signal.match, signal.campaign_id
        payments = signal.payment_ids if signal.kind is SignalKind.REVERSE else []
        for kind, value in (
            ("referral_id", match.referral_id),
            *(("payment_id", payment_id) for payment_id in payments),
            ("external_id", match.external_id),
            ("code", match.code),
            ("email", match.email),
        ):
            referral = self._lookup(kind, value, campaign_id) if value else None
            if referral is not None and referral.campaign_id == campaign_id:
                return referral
        return None

    def _lookup(self, kind: str, value: str, campaign_id: str) -> Referral | None:
        if kind == "referral_id":
            return self._referrals.get(value)
        if kind == "payment_id":
            return self._referrals.by_payment_id(campaign_id, value)
        if kind == "external_id":
            return self._referrals.by_external_id(campaign_id, value)
        if kind == "code":
            return self._referred(self._participants.get(value))
        return self._referred(self._participants.by_email(campaign_id, value))

    def _referred(self, participant: Participant | None) -> Referral | None:
        if participant is None or participant.referral_id is None:
            return None
        return self._referrals.get(participant.referral_id)
