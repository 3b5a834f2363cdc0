"""Which rewards a qualified referral earns under its campaign's reward rule, and a reward's moves
with the date each sets."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from referral_engine.domain.holds import release_time
from referral_engine.domain.identifiers import new_id
from referral_engine.domain.models import AuditEntry, Campaign, Referral, Reward, RewardStatus
from referral_engine.domain.records import replace
from referral_engine.domain.reward_events import RewardEvent, moved

Recipient = Literal["advocate", "friend"]

# The statuses a reward waits in on the release index (the schedule's work: docs/adr/0020).
ON_RELEASE_INDEX = frozenset({RewardStatus.PENDING, RewardStatus.RELEASED})

_DATE_OF = {
    RewardStatus.RELEASED: "released_at",
    RewardStatus.FULFILLED: "fulfilled_at",
    RewardStatus.CANCELLED: "cancelled_at",
    RewardStatus.CLAWED_BACK: "clawed_back_at",
}


def rewards_for(campaign: Campaign, referral: Referral, at: datetime) -> list[Reward]:
    """The advocate's reward, and the friend's too when the campaign is double-sided: `pending` until
    the hold from qualification is over, or fulfilled (credited) at once when there is no hold."""
    rule = campaign.reward
    recipients: list[tuple[Recipient, str, Decimal]] = [("advocate", referral.advocate_code, rule.amount)]
    if rule.friend_amount is not None:
        recipients.append(("friend", referral.referred_code, rule.friend_amount))
    release_at = release_time(referral.qualified_at or at, rule.hold_days)
    return [
        Reward(
            id=new_id("rwd"),
            referral_id=referral.id,
            campaign_id=campaign.id,
            recipient=recipient,
            recipient_code=code,
            amount=amount,
            currency=rule.currency,
            status=RewardStatus.FULFILLED if release_at is None else RewardStatus.PENDING,
            created_at=at,
            release_at=release_at,
            fulfilled_at=at if release_at is None else None,
        )
        for recipient, code, amount in recipients
    ]


def moved_at(reward: Reward, event: RewardEvent, at: datetime) -> Reward | None:
    """`reward` after `event` at `at`, with the date of its new status; None when the event does not apply."""
    after = moved(reward, event)
    if after is None:
        return None
    date = _DATE_OF.get(after.status)
    return replace(after, **{date: at}) if date else after


def reward_audit(before: Reward, after: Reward, actor: str, at: datetime, reason: str) -> AuditEntry:
    """The audit entry of a reward's move, in its referral's trail."""
    return AuditEntry(
        referral_id=before.referral_id,
        at=at,
        action=f"reward.{after.status}",
        actor=actor,
        detail={
            "reward_id": before.id,
            "recipient": before.recipient,
            "amount": str(before.amount),
            "currency": before.currency,
            "from": before.status.value,
            "to": after.status.value,
            "reason": reason,
        },
    )
