"""Reversals: a refund or a chargeback undoes a qualification. Pure rules, no I/O.

A reversal signal (`SignalKind.REVERSE`) moves a `qualified` or `rewarded` referral to `reversed`.
Vendors deliver out of order, so a refund can arrive before the payment it refunds: the referral is
still `pending` then, and the reversal is *held* on it rather than lost. A later qualifying payment
meets the held reversal when it happened no later than the reversal did (a refund can only undo a
payment made before it): the referral then goes through `qualified` straight to `reversed` in one
write, is never announced as qualified, and no reward is issued. A payment made after the held
reversal is a new one: it qualifies the referral as usual.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from referral_engine.domain.events import SignalRef
from referral_engine.domain.milestone import CLOCK_SKEW
from referral_engine.domain.models import ReferralStatus, Signal, check_aware
from referral_engine.domain.records import Record


def happened_at(signal: Signal) -> datetime:
    """When the business event behind a signal happened, as far as we know."""
    return signal.occurred_at or signal.received_at


def reason_for(signal: Signal) -> str:
    return f"a refund or chargeback reported by {signal.source}"


class HeldReversal(Record):
    """A reversal waiting on a `pending` referral for the payment it undoes (stored on the referral).

    When several arrive, the one that happened last is kept: it can undo every payment the others could.
    """

    source: str
    event_id: str
    amount: Decimal | None = None
    currency: str | None = None
    occurred_at: datetime  # when the refund or chargeback happened
    held_at: datetime
    reason: str

    def __post_init__(self) -> None:
        check_aware("occurred_at", self.occurred_at)
        check_aware("held_at", self.held_at)

    @classmethod
    def of(cls, signal: Signal, held_at: datetime) -> HeldReversal:
        return cls(
            source=signal.source,
            event_id=signal.event_id,
            amount=signal.amount,
            currency=signal.currency,
            occurred_at=happened_at(signal).astimezone(UTC),  # stored as text that must sort
            held_at=held_at.astimezone(UTC),
            reason=reason_for(signal),
        )

    @property
    def signal_key(self) -> str:
        """The key of the reversal signal (`Signal.key`), as audit entries name it."""
        return f"{self.source}:{self.event_id}"

    @property
    def signal(self) -> SignalRef:
        return SignalRef(
            source=self.source, event_id=self.event_id, amount=self.amount, currency=self.currency
        )

    def undoes(self, payment: Signal) -> bool:
        """Whether this reversal can be the undoing of `payment`: the payment happened before it."""
        return happened_at(payment) <= self.occurred_at + CLOCK_SKEW

    def supersedes(self, other: HeldReversal) -> bool:
        return self.occurred_at >= other.occurred_at


class Reversal(Record):
    """What reversed a referral: kept on it (and in its audit entry), so it can be announced again.

    `applied_by` is the key of the signal whose processing made the move: the refund itself, or the
    payment that met a held refund. Rewards issued before (`previous_status` rewarded) are not clawed
    back by this system (yet).
    """

    at: datetime
    reason: str
    signal: SignalRef  # the refund or chargeback
    previous_status: ReferralStatus
    applied_by: str

    @property
    def signal_key(self) -> str:
        return f"{self.signal.source}:{self.signal.event_id}"

    @property
    def rewards_issued(self) -> bool:
        return self.previous_status is ReferralStatus.REWARDED
