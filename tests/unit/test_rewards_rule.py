"""Which rewards a qualified referral earns under its campaign's rule."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from referral_engine.domain.models import Campaign, Referral, RewardRule, RewardStatus
from referral_engine.domain.rewards import rewards_for

AT = datetime(2024, 3, 1, tzinfo=UTC)
REFERRAL = Referral(
    id="ref_1",
    campaign_id="cmp_1",
    advocate_code="adv2345wxyz2",
    referred_code="frd2345wxyz2",
    referred_email="bob@example.com",
    joined_at=AT,
)


def campaign(rule: RewardRule) -> Campaign:
    return Campaign(
        id="cmp_1",
        name="Spring",
        landing_url="https://shop.example/",
        reward=rule,
        hook_id="h",
        created_at=AT,
    )


def test_a_single_sided_rule_rewards_only_the_advocate() -> None:
    rewards = rewards_for(campaign(RewardRule(amount=Decimal("10"), currency="EUR")), REFERRAL, AT)

    assert [(r.recipient, r.recipient_code, r.amount, r.currency) for r in rewards] == [
        ("advocate", "adv2345wxyz2", Decimal("10"), "EUR")
    ]
    [reward] = rewards
    assert (reward.referral_id, reward.campaign_id, reward.status, reward.created_at) == (
        "ref_1",
        "cmp_1",
        RewardStatus.FULFILLED,
        AT,
    )
    assert reward.id.startswith("rwd_")


def test_a_double_sided_rule_rewards_the_friend_too_in_the_same_currency() -> None:
    rule = RewardRule(amount=Decimal("10"), currency="USD", friend_amount=Decimal("2.50"))

    rewards = rewards_for(campaign(rule), REFERRAL, AT)

    assert [(r.recipient, r.recipient_code, r.amount, r.currency) for r in rewards] == [
        ("advocate", "adv2345wxyz2", Decimal("10"), "USD"),
        ("friend", "frd2345wxyz2", Decimal("2.50"), "USD"),
    ]
    assert rewards[0].id != rewards[1].id
