"""Issuing the campaign's rewards for a qualified referral, exactly once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest

from referral_engine.domain.errors import IllegalTransition, NotFound
from referral_engine.domain.events import ReferralQualified, SignalRef
from referral_engine.domain.models import Referral, ReferralStatus, RewardStatus, utcnow
from referral_engine.domain.records import replace
from referral_engine.services.rewards import RewardOutcome
from support.fakes import World, hold_first_reads


def test_a_single_sided_reward_credits_the_advocate(world: World) -> None:
    # Given a qualified referral in a campaign that pays advocates 10 EUR
    campaign = world.a_campaign(amount="10", currency="EUR")
    advocate = world.an_advocate(campaign, "ann@example.com")
    referral = world.a_referral(advocate, "bob@example.com")
    event = world.a_qualified_referral(referral)

    # When the reward is issued
    outcome = world.rewards.issue(event)

    # Then the advocate is credited once, the friend nothing, and the referral is rewarded
    assert outcome is RewardOutcome.ISSUED
    history = world.history(referral.id)
    assert [(r.recipient, r.recipient_code, r.amount, r.currency, r.status) for r in history.rewards] == [
        ("advocate", advocate.code, Decimal(10), "EUR", RewardStatus.FULFILLED)
    ]
    assert world.participant(advocate.code).credit_balance == Decimal(10)
    assert world.participant(referral.referred_code).credit_balance == Decimal(0)
    stored = world.referral(referral.id)
    assert stored.status is ReferralStatus.REWARDED
    assert stored.rewarded_at is not None
    [entry] = [e for e in history.audit if e.action == "referral.rewarded"]
    assert (entry.from_status, entry.to_status) == (ReferralStatus.QUALIFIED, ReferralStatus.REWARDED)
    assert entry.detail == {"rewards": ["advocate 10 EUR"]}


def test_a_double_sided_reward_credits_both(world: World) -> None:
    campaign = world.a_campaign(amount="10", currency="USD", friend_amount="5.50")
    advocate = world.an_advocate(campaign, "ann@example.com")
    referral = world.a_referral(advocate, "bob@example.com")

    outcome = world.rewards.issue(world.a_qualified_referral(referral))

    assert outcome is RewardOutcome.ISSUED
    rewards = {
        r.recipient: (r.recipient_code, r.amount, r.currency) for r in world.history(referral.id).rewards
    }
    assert rewards == {
        "advocate": (advocate.code, Decimal(10), "USD"),
        "friend": (referral.referred_code, Decimal("5.50"), "USD"),
    }
    assert world.participant(advocate.code).credit_balance == Decimal(10)
    assert world.participant(referral.referred_code).credit_balance == Decimal("5.50")


def test_each_qualified_referral_adds_to_the_advocates_credit(world: World) -> None:
    campaign = world.a_campaign(amount="7.25")
    advocate = world.an_advocate(campaign, "ann@example.com")
    for friend in ("bob@example.com", "carol@example.com", "dan@example.com"):
        world.rewards.issue(world.a_qualified_referral(world.a_referral(advocate, friend)))
    assert world.participant(advocate.code).credit_balance == Decimal("21.75")


def test_a_second_issue_is_a_duplicate_and_pays_nothing_more(world: World) -> None:
    campaign = world.a_campaign(amount="10", friend_amount="5")
    advocate = world.an_advocate(campaign, "ann@example.com")
    referral = world.a_referral(advocate, "bob@example.com")
    event = world.a_qualified_referral(referral)
    world.rewards.issue(event)
    rewards_before = world.history(referral.id).rewards

    outcome = world.rewards.issue(event)

    assert outcome is RewardOutcome.DUPLICATE
    assert world.history(referral.id).rewards == rewards_before
    assert world.participant(advocate.code).credit_balance == Decimal(10)
    assert world.participant(referral.referred_code).credit_balance == Decimal(5)


def event_for(referral: Referral) -> ReferralQualified:
    return ReferralQualified(
        referral_id=referral.id,
        campaign_id=referral.campaign_id,
        advocate_code=referral.advocate_code,
        referred_code=referral.referred_code,
        qualified_at=utcnow(),
        signal=SignalRef(source="test", event_id="evt-1"),
    )


@pytest.mark.parametrize(
    "status", [ReferralStatus.IN_REVIEW, ReferralStatus.REJECTED, ReferralStatus.REVERSED]
)
def test_a_referral_that_moved_on_from_qualified_is_skipped(world: World, status: ReferralStatus) -> None:
    # Given a referral that went somewhere else than rewarded since it qualified
    advocate = world.an_advocate(world.a_campaign(), "ann@example.com")
    referral = world.a_referral(advocate, "bob@example.com")
    world.backend.referrals.force_status(referral.id, status)

    # When an event for it arrives
    outcome = world.rewards.issue(event_for(referral))

    # Then no reward is made
    assert outcome is RewardOutcome.SKIPPED
    assert world.history(referral.id).rewards == []
    assert world.participant(advocate.code).credit_balance == Decimal(0)
    assert world.referral(referral.id).status is status


def test_an_event_for_a_referral_never_qualified_is_an_illegal_move_refused_and_audited(world: World) -> None:
    # Given a pending referral
    advocate = world.an_advocate(world.a_campaign(), "ann@example.com")
    referral = world.a_referral(advocate, "bob@example.com")

    # When an event says it qualified
    with pytest.raises(IllegalTransition) as refused:
        world.rewards.issue(event_for(referral))

    # Then nothing is paid, the referral stays pending, and the refusal is on its record
    assert refused.value.code == "illegal_transition"
    assert world.history(referral.id).rewards == []
    assert world.participant(advocate.code).credit_balance == Decimal(0)
    assert world.referral(referral.id).status is ReferralStatus.PENDING
    [entry] = [e for e in world.history(referral.id).audit if e.action == "referral.transition_refused"]
    assert (entry.actor, entry.from_status, entry.to_status) == (
        "system:issue_reward",
        ReferralStatus.PENDING,
        ReferralStatus.REWARDED,
    )
    assert entry.detail == {
        "attempted": ["referral.rewarded"],
        "reason": "a referral cannot go from pending to rewarded",
    }


def test_an_event_for_an_unknown_referral_is_not_found(world: World) -> None:
    referral = world.a_referral(world.an_advocate(world.a_campaign()), "bob@example.com")
    with pytest.raises(NotFound):
        world.rewards.issue(replace(event_for(referral), **{"referral_id": "ref_missing"}))


def test_racing_deliveries_of_the_event_reward_once() -> None:
    # Given one qualified referral and eight deliveries of its event, all reading it as qualified
    threads = 8
    world = World()
    backend = world.backend
    campaign = world.a_campaign(amount="10", friend_amount="5")
    advocate = world.an_advocate(campaign, "ann@example.com")
    referral = world.a_referral(advocate, "bob@example.com")
    event = world.a_qualified_referral(referral)
    hold_first_reads(backend.referrals, threads)

    # When they are processed at the same time
    with ThreadPoolExecutor(threads) as pool:
        outcomes = list(pool.map(world.rewards.issue, [event] * threads))

    # Then exactly one set of rewards exists and each balance was credited once
    assert sorted(outcomes) == sorted([RewardOutcome.ISSUED] + [RewardOutcome.DUPLICATE] * (threads - 1))
    assert len(world.history(referral.id).rewards) == 2
    assert world.participant(advocate.code).credit_balance == Decimal(10)
    assert world.participant(referral.referred_code).credit_balance == Decimal(5)
    assert [e.action for e in world.history(referral.id).audit].count("referral.rewarded") == 1
