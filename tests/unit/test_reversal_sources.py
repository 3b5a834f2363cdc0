"""Reversals from every source (docs/adr/0021): the source's reason travels to the audit and the event;
a payment's reversal applies only to the payment that qualified; a CRM's milestone undone is never held."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from referral_engine.domain.models import Referral, ReferralStatus, Signal, SignalKind, SignalMatch, utcnow
from referral_engine.domain.reversals import can_be_held, same_payment
from referral_engine.services.qualification import Outcome
from support.fakes import World

PAID = ["ch_3Paid", "pi_3Paid", "in_1Paid"]


@pytest.fixture
def referral(world: World) -> Referral:
    campaign = world.a_campaign(amount="20.00", currency="USD")
    return world.a_referral(world.an_advocate(campaign, "ann@example.com"), "bob@example.com")


def signal(
    referral: Referral, event_id: str, kind: SignalKind, source: str = "stripe", **extra: Any
) -> Signal:
    return Signal(
        source=source,
        event_id=event_id,
        campaign_id=referral.campaign_id,
        kind=kind,
        match=SignalMatch(email=referral.referred_email),
        amount=Decimal("50.00"),
        currency="USD",
        occurred_at=extra.pop("occurred_at", utcnow()),
        received_at=utcnow(),
        **extra,
    )


def notes(world: World, referral: Referral) -> list[str]:
    return [
        e.detail["reason"] for e in world.history(referral.id).audit if e.action == "signal.reversal_ignored"
    ]


def test_the_payment_ids_are_kept_on_the_referral_and_find_it(world: World, referral: Referral) -> None:
    paid = signal(referral, "evt_paid", SignalKind.QUALIFY, payment_ids=PAID)
    assert world.qualification.process(paid) is Outcome.QUALIFIED

    assert world.referral(referral.id).payment_ids == PAID
    found = world.backend.referrals.by_payment_id(referral.campaign_id, "pi_3Paid")
    assert found is not None
    assert found.id == referral.id


def test_a_refund_of_another_payment_is_ignored_with_the_reason(world: World, referral: Referral) -> None:
    world.qualification.process(signal(referral, "evt_paid", SignalKind.QUALIFY, payment_ids=PAID))
    later = signal(
        referral,
        "evt_r2",
        SignalKind.REVERSE,
        payment_ids=["ch_3Later", "pi_3Later"],
        reason="Stripe refunded",
    )

    assert world.qualification.process(later) is Outcome.IGNORED
    assert world.referral(referral.id).status is ReferralStatus.QUALIFIED
    assert notes(world, referral) == [
        "Stripe refunded: its payment (ch_3Later, pi_3Later) is not the one that qualified the referral "
        "(ch_3Paid, pi_3Paid, in_1Paid)"
    ]
    own = signal(
        referral, "evt_r1", SignalKind.REVERSE, payment_ids=["ch_3Paid"], reason="Stripe refunded ch_3Paid"
    )
    assert world.qualification.process(own) is Outcome.REVERSED
    assert world.backend.publisher.reversals[0].reason == "Stripe refunded ch_3Paid"


def test_ids_of_kinds_the_other_side_lacks_cannot_tell_and_reverse(world: World, referral: Referral) -> None:
    # An invoice of API version basil names only itself; the refund names its charge and payment intent
    world.qualification.process(signal(referral, "evt_paid", SignalKind.QUALIFY, payment_ids=["in_1Paid"]))
    refund = signal(referral, "evt_r", SignalKind.REVERSE, payment_ids=["ch_3Any", "pi_3Any"])
    assert world.qualification.process(refund) is Outcome.REVERSED


@pytest.mark.parametrize(
    ("recorded", "reported", "same"),
    [
        (PAID, ["pi_3Paid"], True),
        (PAID, ["ch_3Other", "pi_3Paid"], True),
        (PAID, ["ch_3Other"], False),
        (["in_1Paid"], ["ch_3Other"], None),
        ([], ["ch_3Other"], None),
        (PAID, [], None),
    ],
)
def test_same_payment(recorded: list[str], reported: list[str], same: bool | None) -> None:
    assert same_payment(recorded, reported) is same


def test_a_held_refund_of_another_payment_does_not_undo_the_payment(world: World, referral: Referral) -> None:
    held = signal(referral, "evt_r", SignalKind.REVERSE, payment_ids=["ch_3Other"])
    assert world.qualification.process(held) is Outcome.HELD

    paid = signal(
        referral, "evt_paid", SignalKind.QUALIFY, payment_ids=PAID, occurred_at=utcnow() - timedelta(hours=1)
    )
    assert world.qualification.process(paid) is Outcome.QUALIFIED


def test_a_crm_milestone_undone_on_a_pending_referral_is_not_held(world: World, referral: Referral) -> None:
    lost = signal(
        referral, "deal-1-won-undone", SignalKind.REVERSE, "pipedrive", reason="deal 1 went from won to lost"
    )

    assert not can_be_held(lost)
    assert world.qualification.process(lost) is Outcome.IGNORED
    assert world.backend.referrals.held_reversal(referral.id) is None
    assert notes(world, referral) == [
        "deal 1 went from won to lost: the referral never reached its milestone"
    ]

    # The deal is won afterwards: it qualifies, nothing held stands in the way
    won = signal(
        referral, "deal-1-won", SignalKind.QUALIFY, "pipedrive", occurred_at=utcnow() - timedelta(hours=1)
    )
    assert world.qualification.process(won) is Outcome.QUALIFIED


def test_a_crm_milestone_undone_reverses_a_qualified_referral_with_its_reason(
    world: World, referral: Referral
) -> None:
    world.qualification.process(signal(referral, "deal-1-won", SignalKind.QUALIFY, "hubspot"))
    lost = signal(referral, "evt-lost", SignalKind.REVERSE, "hubspot")

    assert world.qualification.process(lost) is Outcome.REVERSED
    assert world.backend.publisher.reversals[0].reason == "the milestone was undone in hubspot"
    assert world.backend.referrals.reversals[referral.id].reason == "the milestone was undone in hubspot"


def test_a_milestone_undone_before_the_milestone_was_reached_changes_nothing(
    world: World, referral: Referral
) -> None:
    # HubSpot's earlier stage change, delivered after the win (a batch's signals are applied in any order)
    won_at = utcnow() - timedelta(hours=1)
    world.qualification.process(
        signal(referral, "evt-won", SignalKind.QUALIFY, "hubspot", occurred_at=won_at)
    )
    earlier = signal(
        referral, "evt-early-stage", SignalKind.REVERSE, "hubspot", occurred_at=won_at - timedelta(days=2)
    )

    assert world.qualification.process(earlier) is Outcome.IGNORED
    assert world.referral(referral.id).status is ReferralStatus.QUALIFIED
    assert world.referral(referral.id).milestone_at == won_at
    [note] = notes(world, referral)
    assert "before what qualified the referral" in note
