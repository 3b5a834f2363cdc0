"""Contracts of the events this system puts on its EventBridge bus (the `detail` of each)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import ClassVar

from referral_engine.domain.bus import REFERRAL_CREATED
from referral_engine.domain.models import ReferralStatus
from referral_engine.domain.records import Record


class SignalRef(Record):
    source: str
    event_id: str
    amount: Decimal | None = None
    currency: str | None = None


class ReferralCreated(Record):
    """A new referral, announced from the table's stream (for subscriptions and any other consumer)."""

    detail_type: ClassVar[str] = REFERRAL_CREATED

    referral_id: str
    campaign_id: str
    advocate_code: str
    referred_code: str
    joined_at: datetime
    correlation_id: str | None = None  # of the request this started from (observability.py)


class ReferralQualified(Record):
    detail_type: ClassVar[str] = "referral.qualified"

    referral_id: str
    campaign_id: str
    advocate_code: str
    referred_code: str
    qualified_at: datetime
    signal: SignalRef
    correlation_id: str | None = None  # of the request this started from (observability.py)


class ReferralReversed(Record):
    """A refund or chargeback undid a referral's qualification: it is `reversed` for good.

    `previous_status` is `qualified` or `rewarded`, or `pending` when the reversal arrived before the
    payment it undoes and was held until that payment came (the referral was then never announced as
    qualified). `rewards_issued` says that rewards had already been issued: issue_reward's function
    takes them back on this event (cancelled during their hold, clawed back after: docs/adr/0020).
    `signal` is the reversal (the refund or dispute), not the payment.
    """

    detail_type: ClassVar[str] = "referral.reversed"

    referral_id: str
    campaign_id: str
    advocate_code: str
    referred_code: str
    reversed_at: datetime
    previous_status: ReferralStatus
    reason: str
    rewards_issued: bool
    signal: SignalRef
    correlation_id: str | None = None  # of the request this started from (observability.py)


class ReferralInReview(Record):
    """A referral sent to the review queue (docs/adr/0019): by its campaign's fraud policy at signup.
    It is never paid before an admin approves it; `reasons` are the fraud checks' reason codes."""

    detail_type: ClassVar[str] = "referral.in_review"

    referral_id: str
    campaign_id: str
    advocate_code: str
    referred_code: str
    review_id: str | None
    reasons: tuple[str, ...] = ()
    in_review_at: datetime
    correlation_id: str | None = None


class ReferralApproved(Record):
    """An admin approved a referral in review: it is `pending` again, and qualifies as any other (its
    payment held during the review is replayed). Who decided and why is in its audit trail."""

    detail_type: ClassVar[str] = "referral.approved"

    referral_id: str
    campaign_id: str
    advocate_code: str
    referred_code: str
    review_id: str | None
    approved_at: datetime


class ReferralRejected(Record):
    """A referral is `rejected` for good (an admin's decision on its review): it is never paid."""

    detail_type: ClassVar[str] = "referral.rejected"

    referral_id: str
    campaign_id: str
    advocate_code: str
    referred_code: str
    review_id: str | None
    rejected_at: datetime


ReviewEvent = ReferralInReview | ReferralApproved | ReferralRejected
