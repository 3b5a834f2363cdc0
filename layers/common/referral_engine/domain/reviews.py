"""The review queue: one item per thing an admin must decide, and what each decision does (docs/adr/0019).

A `fraud` item holds a referral the campaign's fraud policy sent to review: approving it moves the
referral `in_review → pending` (the qualifying signal held meanwhile is then replayed through the
signal inbox, so the normal pipeline qualifies and rewards it: no second path to payment); rejecting
it moves the referral to `rejected`. A `clawback` item holds a reward that was handed out by a
provider and could not be taken back after its referral was reversed: approving it records the
reward clawed back (`fulfilled → clawed_back`, the reward event `reverse`), rejecting it waives the
clawback (the reward stays, audited). An item is decided once: the second decision is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Literal

from referral_engine.domain.errors import Conflict
from referral_engine.domain.identifiers import new_id
from referral_engine.domain.models import Referral, ReferralStatus
from referral_engine.domain.records import Record, replace
from referral_engine.domain.reward_events import RewardEvent
from referral_engine.domain.states import REFERRALS

CLAWBACK_NEEDED = "clawback_needed"  # the reason of every clawback item
MAX_DECISION_REASON = 500
MAX_BULK = 25  # review ids per bulk decision: one transaction each, answered within the API's timeout


class ReviewKind(StrEnum):
    FRAUD = "fraud"
    CLAWBACK = "clawback"


class ReviewStatus(StrEnum):
    OPEN = "open"
    APPROVED = "approved"
    REJECTED = "rejected"


class Decision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"

    @property
    def status(self) -> ReviewStatus:
        return ReviewStatus.APPROVED if self is Decision.APPROVE else ReviewStatus.REJECTED


class ReviewDecided(Conflict):
    """The item was decided already (by another admin, or by this one a moment ago)."""

    code = "review_decided"


class ReviewItem(Record):
    id: str
    kind: ReviewKind
    referral_id: str
    campaign_id: str
    reasons: tuple[str, ...]  # fraud reason codes (domain/fraud.Reason), or CLAWBACK_NEEDED
    opened_at: datetime
    status: ReviewStatus = ReviewStatus.OPEN
    reward_recipient: Literal["advocate", "friend"] | None = None  # the reward a clawback item is about
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_reason: str | None = None

    @property
    def is_open(self) -> bool:
        return self.status is ReviewStatus.OPEN

    def age_seconds(self, now: datetime) -> float:
        return max(0.0, (now - self.opened_at).total_seconds())

    def decided(self, decision: Decision, *, by: str, at: datetime, reason: str) -> ReviewItem:
        """The item as `decision` leaves it; raises ReviewDecided unless it is open."""
        if not self.is_open:
            raise ReviewDecided(f"review {self.id} was {self.status} by {self.decided_by}")
        return replace(self, status=decision.status, decided_by=by, decided_at=at, decision_reason=reason)


def fraud_review(referral: Referral, reasons: Sequence[str], at: datetime) -> ReviewItem:
    return ReviewItem(
        id=new_id("rev"),
        kind=ReviewKind.FRAUD,
        referral_id=referral.id,
        campaign_id=referral.campaign_id,
        reasons=tuple(reasons),
        opened_at=at,
    )


def clawback_review(referral: Referral, recipient: Literal["advocate", "friend"], at: datetime) -> ReviewItem:
    return ReviewItem(
        id=new_id("rev"),
        kind=ReviewKind.CLAWBACK,
        referral_id=referral.id,
        campaign_id=referral.campaign_id,
        reasons=(CLAWBACK_NEEDED,),
        opened_at=at,
        reward_recipient=recipient,
    )


# What deciding each kind does: the referral's move (fraud) or the reward's event (clawback); None: nothing.
_REFERRAL_MOVES = {Decision.APPROVE: ReferralStatus.PENDING, Decision.REJECT: ReferralStatus.REJECTED}
_REWARD_EVENTS = {Decision.APPROVE: RewardEvent.REVERSE, Decision.REJECT: None}
for _target in _REFERRAL_MOVES.values():  # a move the table lacks fails at import, not in production
    REFERRALS.require(ReferralStatus.IN_REVIEW, _target)


def referral_move(item: ReviewItem, decision: Decision) -> ReferralStatus | None:
    """The status a fraud decision moves the referral (`in_review`) to; None for a clawback item."""
    return _REFERRAL_MOVES[decision] if item.kind is ReviewKind.FRAUD else None


def reward_event(item: ReviewItem, decision: Decision) -> RewardEvent | None:
    """The event a clawback decision applies to its reward (None: waived, or a fraud item)."""
    return _REWARD_EVENTS[decision] if item.kind is ReviewKind.CLAWBACK else None


def audit_action(item: ReviewItem, decision: Decision) -> str:
    if item.kind is ReviewKind.FRAUD:
        return "referral.approved" if decision is Decision.APPROVE else "referral.rejected"
    return "reward.clawed_back" if decision is Decision.APPROVE else "reward.clawback_waived"
