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
