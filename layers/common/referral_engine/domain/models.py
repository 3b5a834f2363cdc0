"""The domain's entities. Money is Decimal in major units; times are timezone-aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from referral_engine.domain.fields import Currency, Money


def utcnow() -> datetime:
    return datetime.now(UTC)


class Entity(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class ReferralStatus(StrEnum):
    PENDING = "pending"
    QUALIFIED = "qualified"
    REWARDED = "rewarded"
    IN_REVIEW = "in_review"
    REJECTED = "rejected"
    REVERSED = "reversed"


class RewardRule(Entity):
    """A fixed reward per qualified referral; double-sided when `friend_amount` is set."""

    amount: Money
    currency: Currency
    friend_amount: Money | None = None


class Milestone(Entity):
    """What a qualifying signal must show. Empty means: any qualifying signal counts."""

    min_amount: Money | None = None
    currency: Currency | None = None
    within_days: Annotated[int, Field(gt=0, le=3650)] | None = None

    @model_validator(mode="after")
    def _amount_needs_currency(self) -> Milestone:
        if self.min_amount is not None and self.currency is None:
            raise ValueError("a minimum amount needs its currency")
        return self


class Campaign(Entity):
    id: str
    name: str
    landing_url: str
    reward: RewardRule
    milestone: Milestone = Milestone()
    hook_id: str
    status: Literal["active", "paused"] = "active"
    created_at: datetime


class Participant(Entity):
    """A person in a campaign with their own referral code: an advocate, a referred friend, or both."""

    code: str
    campaign_id: str
    email: str
    name: str | None = None
    external_ids: dict[str, str] = {}
    referral_id: str | None = None  # set when this person was referred
    landing_url: str
    clicks: int = 0
    referrals: int = 0
    rewards: int = 0
    credit_balance: Decimal = Decimal(0)
    created_at: datetime


class Referral(Entity):
    id: str
    campaign_id: str
    advocate_code: str
    referred_code: str
    referred_email: str
    referred_name: str | None = None
    external_ids: dict[str, str] = {}
    status: ReferralStatus = ReferralStatus.PENDING
    joined_at: datetime
    qualified_at: datetime | None = None
    rewarded_at: datetime | None = None
    qualified_by: str | None = None  # the signal key that qualified it
    reversed_at: datetime | None = None
    reversed_by: str | None = None  # the signal key of the refund or chargeback
    correlation_id: str | None = None  # the signup request's id (observability.py); None on older items


class RewardStatus(StrEnum):
    PENDING = "pending"  # held until its release time
    RELEASED = "released"  # the hold is over: handed to its provider
    FULFILLED = "fulfilled"  # the recipient has it (an account credit is fulfilled at once)
    IN_REVIEW = "in_review"
    CANCELLED = "cancelled"  # reversed during the hold
    CLAWED_BACK = "clawed_back"  # reversed after release
    FAILED = "failed"  # the provider refused it: in the review queue


class Reward(Entity):
    id: str
    referral_id: str
    campaign_id: str
    recipient: Literal["advocate", "friend"]
    recipient_code: str
    amount: Decimal
    currency: str
    status: RewardStatus
    fulfilment: Literal["credit"] = "credit"
    created_at: datetime


class AuditEntry(Entity):
    referral_id: str
    at: datetime
    action: str
    actor: str
    from_status: ReferralStatus | None = None
    to_status: ReferralStatus | None = None
    detail: dict[str, Any] = {}


class SignalKind(StrEnum):
    QUALIFY = "qualify"
    REVERSE = "reverse"  # a refund or chargeback: undo a qualification


Source = Literal["hubspot", "salesforce", "pipedrive", "zoho", "intercom", "stripe", "zapier", "make"]


class Connection(Entity):
    """A campaign's link to a system that owns the truth: where it posts, and what counts as the milestone.

    Its secret is not here: it lives in the secret store (SSM Parameter Store on AWS).
    """

    id: str
    campaign_id: str
    source: Source
    hook_id: str
    milestone: dict[str, Any] = {}  # the source's own rule, validated by its adapter
    settings: dict[str, Any] = {}  # non-secret, source-specific (e.g. Salesforce's organization id)
    created_at: datetime
    secret_rotated_at: datetime
    secret_version: int | None = None  # the secret store's version this connection trusts


class SignalMatch(Entity):
    """How to find the referral a signal is about; tried in the order of the fields."""

    referral_id: str | None = None
    external_id: str | None = None
    code: str | None = None
    email: str | None = None

    def is_empty(self) -> bool:
        return not (self.referral_id or self.external_id or self.code or self.email)


class Signal(Entity):
    """A normalised inbound business event (webhook, API call), stored once per (source, event id)."""

    source: str
    event_id: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    campaign_id: str
    kind: SignalKind = SignalKind.QUALIFY
    match: SignalMatch
    amount: Decimal | None = None
    currency: Currency | None = None
    occurred_at: AwareDatetime | None = None
    received_at: AwareDatetime
    redrive_of: str | None = None  # the event id of the signal an admin redrove as this one
    correlation_id: str | None = None  # the id of the request that delivered it (observability.py)

    @property
    def key(self) -> str:
        return f"{self.source}:{self.event_id}"

    @property
    def dedupe_key(self) -> str:
        """A caller's event ids are unique within its campaign, and from our API within a referral."""
        return f"{self.source}#{self.campaign_id}#{self.match.referral_id or ''}#{self.event_id}"
