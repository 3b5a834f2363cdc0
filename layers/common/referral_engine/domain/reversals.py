"""Reversals: a refund or a chargeback undoes a qualification. Pure rules, no I/O.

A reversal signal (`SignalKind.REVERSE`) moves a `qualified` or `rewarded` referral to `reversed`.
Vendors deliver out of order, so a refund can arrive before the payment it refunds: the referral is
still `pending` then, and the reversal is *held* on it rather than lost. A later qualifying payment
meets the held reversal when it happened no later than the reversal did (a refund can only undo a
payment made before it): the referral then goes through `qualified` straight to `reversed` in one
write, is never announced as qualified, and no reward is issued. A payment made after the held
reversal is a new one: it qualifies the referral as usual.

Only a payment's reversal is held. A CRM's "milestone undone" (a deal won, then lost) undoes a
qualification that happened: on a referral that never reached the milestone it means nothing (a deal
moving between early stages is not a refund) and is ignored with an audit note. When both the
qualifying payment and the reversal name their payment (Stripe's charge, payment intent and invoice
ids), the reversal applies — or meets a held one — only when they share one: a refund of a later,
unrelated payment leaves the referral as it is (docs/adr/0021).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

import msgspec

from referral_engine.domain.events import SignalRef
from referral_engine.domain.milestone import CLOCK_SKEW
from referral_engine.domain.models import Referral, ReferralStatus, Signal, check_aware
from referral_engine.domain.records import Record

# The sources whose reversal is a milestone undone in a CRM, never a payment's refund.
MILESTONE_SOURCES = frozenset({"hubspot", "salesforce", "pipedrive", "zoho", "intercom"})


def happened_at(signal: Signal) -> datetime:
    """When the business event behind a signal happened, as far as we know."""
    return signal.occurred_at or signal.received_at


def reason_for(signal: Signal) -> str:
    """The reason its source gave (a caller's text, Stripe's refund or dispute, the CRM's stage)."""
    if signal.reason:
        return signal.reason
    if signal.source in MILESTONE_SOURCES:
        return f"the milestone was undone in {signal.source}"
    return f"a refund or chargeback reported by {signal.source}"


# Where a payment's reversal waits for the payment it undoes: a referral not qualified yet, or one in
# review (an approval then replays the held payment, which meets the reversal and is never paid).
HOLDS_REVERSALS = frozenset({ReferralStatus.PENDING, ReferralStatus.IN_REVIEW})


def can_be_held(signal: Signal) -> bool:
    """A payment's reversal may come before the payment it undoes and waits for it on a pending referral;
    a milestone undone applies only to a referral that reached it (qualified or rewarded)."""
    return signal.source not in MILESTONE_SOURCES


def same_payment(recorded: Sequence[str], reported: Sequence[str]) -> bool | None:
    """Whether two sets of payment ids name one payment; None when they share no kind of id to compare
    (an id's kind is its prefix: Stripe's `ch_` charges, `pi_` payment intents, `in_` invoices)."""
    kinds = {_kind(one) for one in recorded} & {_kind(one) for one in reported}
    if not kinds:
        return None
    return any(one in reported for one in recorded if _kind(one) in kinds)


def _kind(payment_id: str) -> str:
    return payment_id.partition("_")[0]


def not_of_the_qualification(referral: Referral, signal: Signal) -> str | None:
    """Why this reversal does not undo what qualified the referral, or None when it does (or when there
    is nothing to tell them apart by): it names another payment, or it happened before the qualifying
    event (a deal's earlier stage change delivered late; a refund of an earlier payment)."""
    same = same_payment(referral.payment_ids, signal.payment_ids)
    if same is False:
        return (
            f"{reason_for(signal)}: its payment ({', '.join(signal.payment_ids)}) is not the one that "
            f"qualified the referral ({', '.join(referral.payment_ids)})"
        )
    paid, qualified = signal.paid_at, referral.milestone_at
    if same is None and paid is not None and qualified is not None and paid > qualified + CLOCK_SKEW:
        # No ids to compare (an invoice of Stripe API 2025-03-31.basil names no charge): a payment
        # made after the qualification is a later one.
        return (
            f"{reason_for(signal)}: its payment was made at {paid.isoformat()}, after the one that "
            f"qualified the referral ({qualified.isoformat()})"
        )
    if referral.milestone_at is not None and happened_at(signal) + CLOCK_SKEW < referral.milestone_at:
        return (
            f"{reason_for(signal)}: it happened at {happened_at(signal).isoformat()}, before what qualified "
            f"the referral ({referral.milestone_at.isoformat()})"
        )
    return None


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
    payment_ids: list[str] = msgspec.field(default_factory=list)

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
            payment_ids=list(signal.payment_ids),
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
        """Whether this reversal can be the undoing of `payment`: the payment happened before it, and is
        the one refunded when both name their payment."""
        if same_payment(payment.payment_ids, self.payment_ids) is False:
            return False
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
