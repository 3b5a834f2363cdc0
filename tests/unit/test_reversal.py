"""Reversals: a refund or chargeback moves a qualified or rewarded referral to `reversed`, exactly once,
with its audit entry and a `referral.reversed` event; one that arrives before its payment is held."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from referral_engine.domain.events import ReferralReversed, SignalRef
from referral_engine.domain.models import (
    AuditEntry,
    Referral,
    ReferralStatus,
    Signal,
    SignalKind,
    SignalMatch,
    utcnow,
)
from referral_engine.domain.records import replace
from referral_engine.domain.reversals import HeldReversal, Reversal
from referral_engine.ports import TransitionResult
from referral_engine.services.qualification import Outcome, ReferralKeptMoving
from referral_engine.services.rewards import RewardOutcome
from support.fakes import PublishFailed, World

T0 = utcnow() - timedelta(hours=1)  # the referrals below signed up just now; payments come after


@pytest.fixture
def referral(world: World) -> Referral:
    campaign = world.a_campaign(amount="20.00", currency="USD", friend_amount="10.00")
    return world.a_referral(world.an_advocate(campaign, "ann@example.com"), "bob@example.com")


def payment(referral: Referral, event_id: str = "evt_paid", at: datetime | None = None) -> Signal:
    return Signal(
        source="stripe",
        event_id=event_id,
        campaign_id=referral.campaign_id,
        match=SignalMatch(email=referral.referred_email),
        amount=Decimal("50.00"),
        currency="USD",
        occurred_at=at or utcnow(),
        received_at=utcnow(),
    )


def refund(
    referral: Referral, event_id: str = "evt_refund", at: datetime | None = None, **extra: Any
) -> Signal:
    return Signal(
        source="stripe",
        event_id=event_id,
        campaign_id=referral.campaign_id,
        kind=SignalKind.REVERSE,
        match=SignalMatch(email=referral.referred_email),
        amount=Decimal("50.00"),
        currency="USD",
        occurred_at=at or utcnow(),
        received_at=utcnow(),
        **extra,
    )


def audit_actions(world: World, referral: Referral) -> list[str]:
    return [entry.action for entry in world.history(referral.id).audit]


def qualified(world: World, referral: Referral) -> None:
    assert world.qualification.process(payment(referral, at=utcnow())) is Outcome.QUALIFIED


def rewarded(world: World, referral: Referral) -> None:
    qualified(world, referral)
    assert world.rewards.issue(world.backend.publisher.published[-1]) is RewardOutcome.ISSUED


def test_a_refund_reverses_a_qualified_referral_and_says_so(world: World, referral: Referral) -> None:
    # Given a qualified referral whose reward has not been issued yet
    qualified(world, referral)
    announced = world.backend.publisher.published[-1]

    # When the refund of its payment arrives
    outcome = world.qualification.process(refund(referral))

    # Then it is reversed, audited, announced once, and the pending reward is never issued
    assert outcome is Outcome.REVERSED
    stored = world.referral(referral.id)
    assert stored.status is ReferralStatus.REVERSED
    assert world.backend.referrals.reversals[referral.id].signal_key == "stripe:evt_refund"
    [entry] = [e for e in world.history(referral.id).audit if e.action == "referral.reversed"]
    assert (entry.actor, entry.from_status, entry.to_status) == (
        "signal:stripe:evt_refund",
        ReferralStatus.QUALIFIED,
        ReferralStatus.REVERSED,
    )
    assert "clawback" not in entry.detail
    assert world.backend.publisher.reversals == [
        ReferralReversed(
            referral_id=referral.id,
            campaign_id=referral.campaign_id,
            advocate_code=referral.advocate_code,
            referred_code=referral.referred_code,
            reversed_at=entry.at,
            previous_status=ReferralStatus.QUALIFIED,
            reason="a refund or chargeback reported by stripe",
            rewards_issued=False,
            signal=SignalRef(source="stripe", event_id="evt_refund", amount=Decimal("50.00"), currency="USD"),
        )
    ]
    assert world.rewards.issue(announced) is RewardOutcome.SKIPPED
    assert world.history(referral.id).rewards == []


def test_a_refund_after_the_reward_reverses_and_the_audit_asks_for_the_clawback(
    world: World, referral: Referral
) -> None:
    rewarded(world, referral)
    advocate_credit = world.participant(referral.advocate_code).credit_balance

    assert world.qualification.process(refund(referral)) is Outcome.REVERSED

    assert world.referral(referral.id).status is ReferralStatus.REVERSED
    [event] = world.backend.publisher.reversals
    assert (event.previous_status, event.rewards_issued) == (ReferralStatus.REWARDED, True)
    [entry] = [e for e in world.history(referral.id).audit if e.action == "referral.reversed"]
    assert entry.from_status is ReferralStatus.REWARDED
    assert entry.detail["previous_status"] == "rewarded"
    rewarded_at = world.referral(referral.id).rewarded_at
    assert rewarded_at is not None
    assert entry.detail["rewards_issued_at"] == rewarded_at.isoformat()
    assert entry.detail["clawback"].startswith("requested")
    # The clawback follows the `referral.reversed` event (services/clawbacks.py): the reversal itself
    # leaves the rewards and the credit as they were.
    assert len(world.history(referral.id).rewards) == 2
    assert world.participant(referral.advocate_code).credit_balance == advocate_credit


def test_a_crash_before_the_announcement_is_repaired_by_the_retry(world: World, referral: Referral) -> None:
    qualified(world, referral)
    signal = refund(referral)
    world.backend.publisher.fail_next = 1
    with pytest.raises(PublishFailed):
        world.qualification.process(signal)
    assert world.referral(referral.id).status is ReferralStatus.REVERSED

    assert world.qualification.process(signal) is Outcome.REPUBLISHED

    [event] = world.backend.publisher.reversals
    assert event.signal.event_id == "evt_refund"
    assert event.previous_status is ReferralStatus.QUALIFIED


def test_an_admin_redrive_of_the_reversal_is_recognised_as_the_same(world: World, referral: Referral) -> None:
    qualified(world, referral)
    world.backend.publisher.fail_next = 1
    with pytest.raises(PublishFailed):
        world.qualification.process(refund(referral))

    redriven = refund(referral, event_id="evt_refund~redrive-1795468467000", redrive_of="evt_refund")
    assert world.qualification.process(redriven) is Outcome.REPUBLISHED
    assert [e.signal.event_id for e in world.backend.publisher.reversals] == ["evt_refund"]


def test_a_second_reversal_is_a_duplicate(world: World, referral: Referral) -> None:
    qualified(world, referral)
    world.qualification.process(refund(referral))

    dispute = refund(referral, event_id="evt_dispute")
    assert world.qualification.process(dispute) is Outcome.DUPLICATE
    assert len(world.backend.publisher.reversals) == 1
    assert audit_actions(world, referral).count("referral.reversed") == 1


def test_payments_after_a_reversal_change_nothing(world: World, referral: Referral) -> None:
    """Out-of-order and late deliveries must not un-reverse (or re-qualify) anything."""
    qualified(world, referral)
    world.qualification.process(refund(referral))

    assert world.qualification.process(payment(referral, "evt_paid")) is Outcome.IGNORED  # redelivered
    assert world.qualification.process(payment(referral, "evt_paid_later")) is Outcome.IGNORED
    assert world.referral(referral.id).status is ReferralStatus.REVERSED
    assert len(world.backend.publisher.published) == 1
    assert len(world.backend.publisher.reversals) == 1


def test_a_reversal_touches_only_its_own_referral(world: World, referral: Referral) -> None:
    other = world.a_referral(world.participant(referral.advocate_code), "carol@example.com")
    qualified(world, referral)
    qualified(world, other)

    world.qualification.process(refund(referral))

    assert world.referral(referral.id).status is ReferralStatus.REVERSED
    assert world.referral(other.id).status is ReferralStatus.QUALIFIED


def test_a_reversal_does_not_move_a_rejected_referral_but_is_recorded(
    world: World, referral: Referral
) -> None:
    world.backend.referrals.force_status(referral.id, ReferralStatus.REJECTED)

    assert world.qualification.process(refund(referral)) is Outcome.IGNORED

    assert world.referral(referral.id).status is ReferralStatus.REJECTED
    [entry] = [e for e in world.history(referral.id).audit if e.action == "signal.reversal_ignored"]
    assert entry.actor == "signal:stripe:evt_refund"
    assert "rejected" in entry.detail["reason"]
    assert world.backend.publisher.reversals == []


# --------------------------------------------------------------------------- early reversals


def test_a_refund_before_any_payment_is_held_not_lost(world: World, referral: Referral) -> None:
    outcome = world.qualification.process(refund(referral, at=T0 + timedelta(minutes=30)))

    assert outcome is Outcome.HELD
    assert world.referral(referral.id).status is ReferralStatus.PENDING
    hold = world.backend.referrals.held_reversal(referral.id)
    assert hold is not None
    assert (hold.signal_key, hold.occurred_at) == ("stripe:evt_refund", T0 + timedelta(minutes=30))
    [entry] = [e for e in world.history(referral.id).audit if e.action == "referral.reversal_held"]
    assert entry.actor == "signal:stripe:evt_refund"
    assert world.backend.publisher.reversals == []


def test_the_payment_a_held_refund_undoes_reverses_the_referral_at_once(
    world: World, referral: Referral
) -> None:
    # Given the refund delivered before the payment it refunds
    world.qualification.process(refund(referral, at=T0 + timedelta(minutes=30)))

    # When the payment arrives (it happened before the refund)
    outcome = world.qualification.process(payment(referral, at=T0 + timedelta(minutes=10)))

    # Then the referral goes straight to reversed: never announced as qualified, never rewarded
    assert outcome is Outcome.REVERSED
    stored = world.referral(referral.id)
    assert stored.status is ReferralStatus.REVERSED
    assert stored.qualified_by == "stripe:evt_paid"
    assert world.backend.publisher.published == []
    [event] = world.backend.publisher.reversals
    assert (event.previous_status, event.rewards_issued) == (ReferralStatus.PENDING, False)
    assert event.signal.event_id == "evt_refund"
    history = world.history(referral.id)
    assert [e.action for e in history.audit][-2:] == ["referral.qualified", "referral.reversed"]
    reversed_entry = history.audit[-1]
    assert reversed_entry.actor == "signal:stripe:evt_refund"
    assert reversed_entry.detail["applied_by"] == "stripe:evt_paid"
    assert history.rewards == []
    # and later deliveries change nothing
    assert world.qualification.process(refund(referral, at=T0 + timedelta(minutes=30))) is Outcome.DUPLICATE
    assert world.qualification.process(payment(referral, "evt_paid_2")) is Outcome.IGNORED


def test_a_refund_for_a_referral_in_review_is_held_for_the_payment_an_approval_replays(
    world: World, referral: Referral
) -> None:
    world.backend.referrals.force_status(referral.id, ReferralStatus.IN_REVIEW)

    assert world.qualification.process(refund(referral, at=T0 + timedelta(minutes=30))) is Outcome.HELD

    world.backend.referrals.force_status(referral.id, ReferralStatus.PENDING)  # approved
    outcome = world.qualification.process(payment(referral, at=T0 + timedelta(minutes=10)))
    assert outcome is Outcome.REVERSED
    assert world.backend.publisher.published == []  # never announced qualified: never rewarded


def test_a_payment_after_a_held_refund_is_a_new_one_and_qualifies(world: World, referral: Referral) -> None:
    """The held refund undid an earlier payment (say, one below the minimum): a later one counts."""
    world.qualification.process(refund(referral, at=T0 + timedelta(minutes=10)))

    outcome = world.qualification.process(payment(referral, at=T0 + timedelta(minutes=30)))

    assert outcome is Outcome.QUALIFIED
    assert world.referral(referral.id).status is ReferralStatus.QUALIFIED
    assert len(world.backend.publisher.published) == 1
    assert world.backend.publisher.reversals == []


def test_of_several_held_refunds_the_latest_is_kept(world: World, referral: Referral) -> None:
    world.qualification.process(refund(referral, "evt_refund_late", at=T0 + timedelta(minutes=40)))
    world.qualification.process(refund(referral, "evt_refund_early", at=T0 + timedelta(minutes=5)))

    hold = world.backend.referrals.held_reversal(referral.id)
    assert hold is not None
    assert hold.event_id == "evt_refund_late"
    assert audit_actions(world, referral).count("referral.reversal_held") == 2
    # a payment between the two refunds is undone by the later one
    assert world.qualification.process(payment(referral, at=T0 + timedelta(minutes=20))) is Outcome.REVERSED


def test_a_payment_below_the_milestone_leaves_the_hold_waiting(world: World) -> None:
    campaign = world.a_campaign(currency="USD", milestone={"min_amount": "100.00", "currency": "USD"})
    referral = world.a_referral(world.an_advocate(campaign))
    world.qualification.process(refund(referral, at=T0 + timedelta(minutes=30)))

    small = payment(referral, at=T0 + timedelta(minutes=10))  # 50.00 < 100.00
    assert world.qualification.process(small) is Outcome.NOT_REACHED

    assert world.referral(referral.id).status is ReferralStatus.PENDING
    assert world.backend.referrals.held_reversal(referral.id) is not None


def test_a_refund_held_while_the_payment_was_being_qualified_is_not_lost(
    world: World, referral: Referral
) -> None:
    """The race: the payment read the referral (pending, nothing held), then the refund was held."""
    store = world.backend.referrals
    mark_qualified = store.mark_qualified
    calls: list[str] = []

    def refund_lands_first(*args: Any, **kwargs: Any) -> Any:
        if not calls:
            calls.append("refund")
            assert (
                world.qualification.process(refund(referral, at=T0 + timedelta(minutes=30))) is Outcome.HELD
            )
        return mark_qualified(*args, **kwargs)

    store.mark_qualified = refund_lands_first  # type: ignore[method-assign]

    assert world.qualification.process(payment(referral, at=T0 + timedelta(minutes=10))) is Outcome.REVERSED
    assert world.backend.publisher.published == []


def test_a_refund_held_meanwhile_for_an_earlier_payment_lets_this_one_qualify(
    world: World, referral: Referral
) -> None:
    store = world.backend.referrals
    mark_qualified = store.mark_qualified
    seen: list[HeldReversal | None] = []

    def refund_lands_first(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs.get("despite"))
        if len(seen) == 1:
            world.qualification.process(refund(referral, at=T0 + timedelta(minutes=5)))
        return mark_qualified(*args, **kwargs)

    store.mark_qualified = refund_lands_first  # type: ignore[method-assign]

    assert world.qualification.process(payment(referral, at=T0 + timedelta(minutes=30))) is Outcome.QUALIFIED
    assert seen[0] is None
    assert seen[1] is not None
    assert seen[1].event_id == "evt_refund"


def test_a_reward_issued_while_reversing_is_reported_as_kept(world: World, referral: Referral) -> None:
    """The race: issue_reward moved the referral to rewarded between our read and our write."""
    qualified(world, referral)
    store = world.backend.referrals
    mark_reversed = store.mark_reversed
    calls: list[str] = []

    def reward_lands_first(*args: Any, **kwargs: Any) -> Any:
        if not calls:
            calls.append("reward")
            world.rewards.issue(world.backend.publisher.published[-1])
        return mark_reversed(*args, **kwargs)

    store.mark_reversed = reward_lands_first  # type: ignore[method-assign]

    assert world.qualification.process(refund(referral)) is Outcome.REVERSED
    [event] = world.backend.publisher.reversals
    assert (event.previous_status, event.rewards_issued) == (ReferralStatus.REWARDED, True)


def test_a_crash_before_announcing_a_held_reversal_is_repaired_by_the_payments_retry(
    world: World, referral: Referral
) -> None:
    world.qualification.process(refund(referral, at=T0 + timedelta(minutes=30)))
    paid = payment(referral, at=T0 + timedelta(minutes=10))
    world.backend.publisher.fail_next = 1
    with pytest.raises(PublishFailed):
        world.qualification.process(paid)

    assert world.qualification.process(paid) is Outcome.REPUBLISHED

    [event] = world.backend.publisher.reversals
    assert event.previous_status is ReferralStatus.PENDING
    assert world.backend.publisher.published == []


def test_a_referral_that_never_stops_moving_is_retried_later(world: World, referral: Referral) -> None:
    qualified(world, referral)
    store = world.backend.referrals
    current = store.get(referral.id)
    assert current is not None

    def always_lost(referral: Referral, reversal: Reversal, audit: AuditEntry) -> TransitionResult:
        return TransitionResult(applied=False, current=current)

    store.mark_reversed = always_lost  # type: ignore[method-assign]

    with pytest.raises(ReferralKeptMoving):
        world.qualification.process(refund(referral))


def test_reversals_from_any_source_work_alike(world: World, referral: Referral) -> None:
    qualified(world, referral)
    zap = replace(refund(referral, event_id="zap-refund-1"), **{"source": "zapier"})

    assert world.qualification.process(zap) is Outcome.REVERSED
    assert world.backend.publisher.reversals[0].reason == "a refund or chargeback reported by zapier"
