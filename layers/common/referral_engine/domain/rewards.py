"""Which rewards a qualified referral earns under its campaign's reward rule."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from referral_engine.domain.identifiers import new_id
from referral_engine.domain.models import Campaign, Referral, Reward, RewardStatus

Recipient = Literal["advocate", "friend"]


def rewards_for(campaign: Campaign, referral: Referral, at: datetime) -> list[Reward]:
    """The advocate's reward, and the friend's too when the campaign is double-sided."""
    rule = campaign.reward
    recipients: list[tuple[Recipient, str, Decimal]] = [("advocate", referral.advocate_code, rule.amount)]
    if rule.friend_amount is not None:
        recipients.append(("friend", referral.referred_code, rule.friend_amount))
    return [
        Reward(
            id=new_id("rwd"),
            referral_id=referral.id,
            campaign_id=campaign.id,
            recipient=recipient,
            recipient_code=code,
            amount=amount,
            currency=rule.currency,
            status=RewardStatus.FULFILLED,
            created_at=at,
        )
        for recipient, code, amount in recipients
    ]
