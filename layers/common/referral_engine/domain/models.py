"""The domain's entities. Money is Decimal in major units; times are timezone-aware UTC.

Records (domain/records.py): checked when parsed from a table item, a stream image or an event, and
held to the invariants their `__post_init__` states when built in code.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

import msgspec

from referral_engine.domain.fraud import FraudPolicy
from referral_engine.domain.holds import check_hold_days
from referral_engine.domain.money import check_currency, check_money
from referral_engine.domain.records import Record

MAX_EVENT_ID = 200


def utcnow() -> datetime:
    return datetime.now(UTC)


def check_aware(name: str, value: datetime | None) -> None:
    if value is not None and value.utcoffset() is None:
        raise ValueError(f"{name}: a time needs its timezone")


class ReferralStatus(StrEnum):
    PENDING = "pending"
    QUALIFIED = "qualified"
    REWARDED = "rewarded"
    IN_REVIEW = "in_review"
    REJECTED = "rejected"
    REVERSED = "reversed"


class RewardRule(Record):
    """A fixed reward per qualified referral; double-sided when `friend_amount` is set."""

    amount: Decimal
    currency: str
    friend_amount: Decimal | None = None
    hold_days: Decimal = Decimal(0)  # how long rewards stay pending (domain/holds.py, docs/adr/0020)

    def __post_init__(self) -> None:
        check_money("amount", self.amount)
        check_currency("currency", self.currency)
        if self.friend_amount is not None:
            check_money("friend_amount", self.friend_amount)
        check_hold_days(self.hold_days)


class Milestone(Record):
    """What a qualifying signal must show. Empty means: any qualifying signal counts."""

    min_amount: Decimal | None = None
    currency: str | None = None
    within_days: int | None = None

    def __post_init__(self) -> None:
        if self.min_amount is not None:
            check_money("min_amount", self.min_amount)
            if self.currency is None:
                raise ValueError("a minimum amount needs its currency")
        if self.currency is not None:
            check_currency("currency", self.currency)
        if self.within_days is not None and not 0 < self.within_days <= 3650:
            raise ValueError("within_days: from 1 to 3650")


class HookSigning(Record):
    """The generic hook's signing secrets (docs/adr/0024), by their versions in the secret store: the
    current one, and the one a rotation replaced while callers roll over (until `previous_until`)."""

    version: int
    rotated_at: datetime
    previous_version: int | None = None
    previous_until: datetime | None = None


class Campaign(Record):
    id: str
    name: str
    landing_url: str
    reward: RewardRule
    milestone: Milestone = msgspec.field(default_factory=Milestone)
    fraud: FraudPolicy = msgspec.field(default_factory=FraudPolicy)  # docs/adr/0018
    hook_id: str
    hook_signing: HookSigning | None = None  # None: the URL is the only secret (docs/adr/0024)
    status: Literal["active", "paused"] = "active"
    created_at: datetime


class Participant(Record):
    """A person in a campaign with their own referral code: an advocate, a referred friend, or both."""

    code: str
    campaign_id: str
    email: str
    name: str | None = None
    external_ids: dict[str, str] = msgspec.field(default_factory=dict)
    referral_id: str | None = None  # set when this person was referred
    landing_url: str
    clicks: int = 0
    repeat_clicks: int = 0  # the same browser again within the repeat window (docs/adr/0023)
    referrals: int = 0
    rewards: int = 0
    credit_balance: Decimal = Decimal(0)
    created_at: datetime


class Referral(Record):
    id: str
    campaign_id: str
    advocate_code: str
    referred_code: str
    referred_email: str
    referred_name: str | None = None
    external_ids: dict[str, str] = msgspec.field(default_factory=dict)
    status: ReferralStatus = ReferralStatus.PENDING
    joined_at: datetime
    qualified_at: datetime | None = None
    rewarded_at: datetime | None = None
    qualified_by: str | None = None  # the signal key that qualified it
    reversed_at: datetime | None = None
    reversed_by: str | None = None  # the signal key of the refund or chargeback
    # The payment's ids (charge, payment intent, invoice) as its vendor named them, recorded at
    # qualification: a refund or dispute reverses only when it is about one of them (docs/adr/0021).
    payment_ids: list[str] = msgspec.field(default_factory=list)
    milestone_at: datetime | None = None  # when the qualifying event happened, by its source's clock
    correlation_id: str | None = None  # the signup request's id (observability.py); None on older items


class RewardStatus(StrEnum):
    PENDING = "pending"  # held until its release time
    RELEASED = "released"  # the hold is over: handed to its provider
    FULFILLED = "fulfilled"  # the recipient has it (an account credit is fulfilled at once)
    IN_REVIEW = "in_review"
    CANCELLED = "cancelled"  # reversed during the hold
    CLAWED_BACK = "clawed_back"  # reversed after release
    FAILED = "failed"  # the provider refused it: in the review queue


CREDIT = "credit"  # a reward's fulfilment as an account credit: the participant's `credit_balance`


class Reward(Record):
    id: str
    referral_id: str
    campaign_id: str
    recipient: Literal["advocate", "friend"]
    recipient_code: str
    amount: Decimal
    currency: str
    status: RewardStatus
    fulfilment: str = CREDIT  # the ledger, or the name of the provider that hands it over (issue 12)
    created_at: datetime
    # The hold (docs/adr/0020): due at `release_at`; each date set by the move that reached its status.
    release_at: datetime | None = None
    released_at: datetime | None = None
    fulfilled_at: datetime | None = None
    cancelled_at: datetime | None = None
    clawed_back_at: datetime | None = None


class AuditEntry(Record):
    referral_id: str
    at: datetime
    action: str
    actor: str
    from_status: ReferralStatus | None = None
    to_status: ReferralStatus | None = None
    detail: dict[str, Any] = msgspec.field(default_factory=dict)


class SignalKind(StrEnum):
    QUALIFY = "qualify"
    REVERSE = "reverse"  # a refund or chargeback: undo a qualification


Source = Literal["hubspot", "salesforce", "pipedrive", "zoho", "intercom", "stripe", "zapier", "make"]


class Connection(Record):
    """A campaign's link to a system that owns the truth: where it posts, and what counts as the milestone.

    Its secret is not here: it lives in the secret store (SSM Parameter Store on AWS).
    """

    id: str
    campaign_id: str
    source: Source
    hook_id: str
    # The source's own rule, validated by its adapter; non-secret settings (Salesforce's organization id).
    milestone: dict[str, Any] = msgspec.field(default_factory=dict)
    settings: dict[str, Any] = msgspec.field(default_factory=dict)
    created_at: datetime
    secret_rotated_at: datetime
    secret_version: int | None = None  # the secret store's version this connection trusts


class SignalMatch(Record):
    """How to find the referral a signal is about; tried in the order of the fields."""

    referral_id: str | None = None
    external_id: str | None = None
    code: str | None = None
    email: str | None = None

    def is_empty(self) -> bool:
        return not (self.referral_id or self.external_id or self.code or self.email)


class Signal(Record):
    """A normalised inbound business event (webhook, API call), stored once per (source, event id)."""

    source: str
    event_id: str
    campaign_id: str
    kind: SignalKind = SignalKind.QUALIFY
    match: SignalMatch
    amount: Decimal | None = None
    currency: str | None = None
    occurred_at: datetime | None = None
    received_at: datetime
    redrive_of: str | None = None  # the event id of the signal an admin redrove as this one
    correlation_id: str | None = None  # the id of the request that delivered it (observability.py)
    reason: str | None = None  # a reversal's reason, in the words of whoever reported it
    payment_ids: list[str] = msgspec.field(default_factory=list)  # the payment it is about (Stripe)
    paid_at: datetime | None = None  # a reversal's: when the payment it undoes was made, if told

    def __post_init__(self) -> None:
        if not 0 < len(self.event_id) <= MAX_EVENT_ID:
            raise ValueError(f"event_id: from 1 to {MAX_EVENT_ID} characters")
        if self.currency is not None:
            check_currency("currency", self.currency)
        check_aware("occurred_at", self.occurred_at)
        check_aware("paid_at", self.paid_at)
        check_aware("received_at", self.received_at)

    @property
    def key(self) -> str:
        return f"{self.source}:{self.event_id}"

    @property
    def dedupe_key(self) -> str:
        """A caller's event ids are unique within its campaign, and from our API within a referral."""
        return f"{self.source}#{self.campaign_id}#{self.match.referral_id or ''}#{self.event_id}"
