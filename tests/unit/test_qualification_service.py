"""Turning a stored signal into a qualified referral, exactly once, and announcing it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal

import pytest

from referral_engine.domain.errors import PermanentSignalError, UnmatchedSignal
from referral_engine.domain.events import ReferralQualified, SignalRef
from referral_engine.domain.models import Referral, ReferralStatus, SignalMatch
from referral_engine.services.qualification import Outcome
from referral_engine.services.qualify_request import QualifyRequest
from support.fakes import PublishFailed, World, hold_first_reads


@pytest.fixture
def referral(world: World) -> Referral:
    return world.a_referral(world.an_advocate(world.a_campaign(), "ann@example.com"), "bob@example.com")


def test_a_pending_referral_is_qualified_and_announced_once(world: World, referral: Referral) -> None:
    # Given a qualify call accepted through the API
    signal, _ = world.signals.qualify_referral(
        referral.id, QualifyRequest(event_id="order-1", amount=Decimal("25.00"), currency="EUR")
    )

    # When the qualify function processes it
    outcome = world.qualification.process(signal)

    # Then the referral is qualified by that signal, audited, and exactly one event says so
    assert outcome is Outcome.QUALIFIED
    stored = world.referral(referral.id)
    assert stored.status is ReferralStatus.QUALIFIED
    assert stored.qualified_by == "api:order-1"
    assert stored.qualified_at is not None
    assert world.backend.publisher.published == [
        ReferralQualified(
            referral_id=referral.id,
            campaign_id=referral.campaign_id,
            advocate_code=referral.advocate_code,
            referred_code=referral.referred_code,
            qualified_at=stored.qualified_at,
            signal=SignalRef(source="api", event_id="order-1", amount=Decimal("25.00"), currency="EUR"),
        )
    ]
    qualified_audit = [
        entry for entry in world.history(referral.id).audit if entry.action == "referral.qualified"
    ]
    assert len(qualified_audit) == 1
    entry = qualified_audit[0]
    assert (entry.actor, entry.from_status, entry.to_status) == (
        "signal:api:order-1",
        ReferralStatus.PENDING,
        ReferralStatus.QUALIFIED,
    )
    assert entry.at == stored.qualified_at


def test_a_crash_between_the_write_and_the_event_is_repaired_by_the_retry(
    world: World, referral: Referral
) -> None:
    # Given the bus fails right after the referral was marked qualified
    signal = world.a_signal(referral.campaign_id, SignalMatch(referral_id=referral.id), event_id="order-1")
    world.backend.publisher.fail_next = 1
    with pytest.raises(PublishFailed):
        world.qualification.process(signal)
    assert world.referral(referral.id).status is ReferralStatus.QUALIFIED
    assert world.backend.publisher.published == []

    # When the platform retries the same signal
    outcome = world.qualification.process(signal)

    # Then the event is published after all, with the original qualification time
    assert outcome is Outcome.REPUBLISHED
    [event] = world.backend.publisher.published
    assert event.referral_id == referral.id
    assert event.qualified_at == world.referral(referral.id).qualified_at
    assert event.signal.event_id == "order-1"


def test_the_qualifying_signal_again_is_republished_only_while_qualified(
    world: World, referral: Referral
) -> None:
    signal = world.a_signal(referral.campaign_id, SignalMatch(referral_id=referral.id), event_id="order-1")
    assert world.qualification.process(signal) is Outcome.QUALIFIED
    # a redelivery while still qualified: announce again (the reward side is idempotent)
    assert world.qualification.process(signal) is Outcome.REPUBLISHED
    assert len(world.backend.publisher.published) == 2

    # once rewarded, the same signal changes nothing
    world.rewards.issue(world.backend.publisher.published[0])
    assert world.qualification.process(signal) is Outcome.DUPLICATE
    assert len(world.backend.publisher.published) == 2


def test_another_signal_for_a_qualified_referral_is_a_duplicate(world: World, referral: Referral) -> None:
    match = SignalMatch(referral_id=referral.id)
    world.qualification.process(world.a_signal(referral.campaign_id, match, event_id="order-1"))

    outcome = world.qualification.process(world.a_signal(referral.campaign_id, match, event_id="order-2"))

    assert outcome is Outcome.DUPLICATE
    assert len(world.backend.publisher.published) == 1
    assert world.referral(referral.id).qualified_by == "test:order-1"


def test_a_referral_in_review_is_held_whatever_its_signals_say(world: World, referral: Referral) -> None:
    world.backend.referrals.force_status(referral.id, ReferralStatus.IN_REVIEW)

    outcome = world.qualification.process(
        world.a_signal(referral.campaign_id, SignalMatch(referral_id=referral.id), event_id="order-9")
    )

    assert outcome is Outcome.HELD_FOR_REVIEW
    assert world.referral(referral.id).status is ReferralStatus.IN_REVIEW
    assert world.backend.publisher.published == []
    held = [entry for entry in world.history(referral.id).audit if entry.action == "signal.held_for_review"]
    assert [entry.detail["signal"]["event_id"] for entry in held] == ["order-9"]


def test_the_first_qualifying_signal_in_review_is_kept_for_the_approval_to_replay(
    world: World, referral: Referral
) -> None:
    world.backend.referrals.force_status(referral.id, ReferralStatus.IN_REVIEW)
    match = SignalMatch(referral_id=referral.id)

    outcomes = [
        world.qualification.process(world.a_signal(referral.campaign_id, match, event_id=event_id))
        for event_id in ("order-1", "order-2")
    ]

    assert outcomes == [Outcome.HELD_FOR_REVIEW, Outcome.HELD_FOR_REVIEW]
    assert world.backend.referrals.held_signals[referral.id].event_id == "order-1"
    held = [entry for entry in world.history(referral.id).audit if entry.action == "signal.held_for_review"]
    assert [entry.detail["signal"]["event_id"] for entry in held] == ["order-1", "order-2"]


@pytest.mark.parametrize("status", [ReferralStatus.REJECTED, ReferralStatus.REVERSED])
def test_a_signal_does_not_move_a_referral_in_a_side_state(
    world: World, referral: Referral, status: ReferralStatus
) -> None:
    world.backend.referrals.force_status(referral.id, status)

    outcome = world.qualification.process(
        world.a_signal(referral.campaign_id, SignalMatch(referral_id=referral.id))
    )

    assert outcome is Outcome.IGNORED
    assert world.referral(referral.id).status is status
    assert world.backend.publisher.published == []


class TestMatching:
    """A signal finds its referral by id, then external id, then the referred code, then email."""

    @pytest.fixture
    def four(self, world: World) -> list[Referral]:
        advocate = world.an_advocate(world.a_campaign(), "ann@example.com")
        return [
            world.a_referral(advocate, f"friend{i}@example.com", external_ids={"hubspot": f"h{i}"})
            for i in range(4)
        ]

    @pytest.mark.parametrize(
        ("fields", "expected"),
        [
            (("referral_id", "external_id", "code", "email"), 0),
            (("external_id", "code", "email"), 1),
            (("code", "email"), 2),
            (("email",), 3),
        ],
    )
    def test_the_first_field_that_matches_wins(
        self, world: World, four: list[Referral], fields: tuple[str, ...], expected: int
    ) -> None:
        # Given a signal whose fields each point at a different referral (the missing ones point nowhere)
        match = SignalMatch(
            referral_id=four[0].id if "referral_id" in fields else "ref_missing",
            external_id="hubspot:h1" if "external_id" in fields else "hubspot:unknown",
            code=four[2].referred_code if "code" in fields else "unknown2345w",
            email=four[3].referred_email,
        )

        # When it is processed
        outcome = world.qualification.process(world.a_signal(four[0].campaign_id, match))

        # Then exactly the expected referral was qualified
        assert outcome is Outcome.QUALIFIED
        statuses = [world.referral(r.id).status for r in four]
        assert statuses == [
            ReferralStatus.QUALIFIED if i == expected else ReferralStatus.PENDING for i in range(4)
        ]
        assert world.backend.publisher.published[0].referral_id == four[expected].id


def test_a_signal_for_another_campaign_does_not_match(world: World) -> None:
    referral = world.a_referral(
        world.an_advocate(world.a_campaign()), "bob@example.com", external_ids={"hubspot": "7"}
    )
    other = world.a_campaign()
    for match in (
        SignalMatch(referral_id=referral.id),
        SignalMatch(code=referral.referred_code),
        SignalMatch(email=referral.referred_email),
        SignalMatch(external_id="hubspot:7"),
    ):
        with pytest.raises(UnmatchedSignal):
            world.qualification.process(world.a_signal(other.id, match))
    assert world.referral(referral.id).status is ReferralStatus.PENDING
    assert world.backend.publisher.published == []


@pytest.mark.parametrize(
    "match",
    [
        SignalMatch(code="unknown2345w"),
        SignalMatch(email="nobody@example.com"),
        SignalMatch(referral_id="ref_missing"),
        SignalMatch(),
    ],
)
def test_a_signal_that_matches_nobody_is_a_permanent_error(
    world: World, referral: Referral, match: SignalMatch
) -> None:
    with pytest.raises(UnmatchedSignal) as raised:
        world.qualification.process(world.a_signal(referral.campaign_id, match))
    assert isinstance(raised.value, PermanentSignalError)
    assert world.referral(referral.id).status is ReferralStatus.PENDING


def test_an_advocates_own_code_does_not_qualify_anything(world: World, referral: Referral) -> None:
    # the advocate was not referred, so their code names no referral
    with pytest.raises(UnmatchedSignal):
        world.qualification.process(
            world.a_signal(referral.campaign_id, SignalMatch(code=referral.advocate_code))
        )


def test_a_signal_below_the_milestone_is_audited_and_changes_nothing(world: World) -> None:
    # Given a campaign that rewards first purchases of 50 EUR or more
    campaign = world.a_campaign(milestone={"min_amount": "50", "currency": "EUR"})
    referral = world.a_referral(world.an_advocate(campaign), "bob@example.com")
    match = SignalMatch(referral_id=referral.id)

    # When a 20 EUR purchase arrives
    outcome = world.qualification.process(
        world.a_signal(campaign.id, match, event_id="small", amount="20", currency="EUR")
    )

    # Then the referral stays pending, nothing is announced, and the audit trail says why
    assert outcome is Outcome.NOT_REACHED
    assert world.referral(referral.id).status is ReferralStatus.PENDING
    assert world.backend.publisher.published == []
    [entry] = [e for e in world.history(referral.id).audit if e.action == "signal.milestone_not_reached"]
    assert entry.actor == "signal:test:small"
    assert entry.detail == {"reason": "amount 20 is below 50"}
    assert entry.to_status is None

    # and a later big enough purchase qualifies it
    assert (
        world.qualification.process(
            world.a_signal(campaign.id, match, event_id="big", amount="80", currency="EUR")
        )
        is Outcome.QUALIFIED
    )


def test_the_within_days_window_uses_when_the_event_happened(world: World) -> None:
    campaign = world.a_campaign(milestone={"within_days": 30})
    referral = world.a_referral(world.an_advocate(campaign), "bob@example.com")
    too_late = referral.joined_at + timedelta(days=31)

    outcome = world.qualification.process(
        world.a_signal(campaign.id, SignalMatch(referral_id=referral.id), occurred_at=too_late)
    )

    assert outcome is Outcome.NOT_REACHED


def test_racing_signals_qualify_once_and_announce_once() -> None:
    # Given one pending referral and eight different signals for it, processed at the same time
    threads = 8
    world = World()
    backend = world.backend
    referral = world.a_referral(world.an_advocate(world.a_campaign(), "ann@example.com"), "bob@example.com")
    hold_first_reads(backend.referrals, threads)
    signals = [
        world.a_signal(referral.campaign_id, SignalMatch(referral_id=referral.id), event_id=f"evt-{i}")
        for i in range(threads)
    ]

    # When they race
    with ThreadPoolExecutor(threads) as pool:
        outcomes = list(pool.map(world.qualification.process, signals))

    # Then exactly one won: one qualification, one event, and the others are duplicates
    assert sorted(outcomes) == sorted([Outcome.QUALIFIED] + [Outcome.DUPLICATE] * (threads - 1))
    winner = signals[outcomes.index(Outcome.QUALIFIED)]
    assert world.referral(referral.id).qualified_by == winner.key
    [event] = backend.publisher.published
    assert event.signal.event_id == winner.event_id
    assert [e.action for e in world.history(referral.id).audit].count("referral.qualified") == 1


def test_racing_redeliveries_of_two_signals_qualify_once() -> None:
    # Given two different signals, each delivered four times, all processed at once
    threads = 8
    world = World()
    backend = world.backend
    referral = world.a_referral(world.an_advocate(world.a_campaign(), "ann@example.com"), "bob@example.com")
    hold_first_reads(backend.referrals, threads)
    match = SignalMatch(referral_id=referral.id)
    first, second = (world.a_signal(referral.campaign_id, match, event_id=e) for e in ("evt-a", "evt-b"))

    with ThreadPoolExecutor(threads) as pool:
        outcomes = list(pool.map(world.qualification.process, [first, second] * 4))

    # Then one delivery qualifies; the winner's other deliveries may re-announce, the loser's never do
    assert outcomes.count(Outcome.QUALIFIED) == 1
    winner = (first, second)[outcomes.index(Outcome.QUALIFIED) % 2]
    loser_outcomes = [o for i, o in enumerate(outcomes) if (first, second)[i % 2] is not winner]
    assert loser_outcomes == [Outcome.DUPLICATE] * 4
    assert {event.signal.event_id for event in backend.publisher.published} == {winner.event_id}
    assert [e.action for e in world.history(referral.id).audit].count("referral.qualified") == 1


def test_a_time_without_zone_is_refused_at_the_door() -> None:
    with pytest.raises(ValueError, match="timezone"):
        QualifyRequest.model_validate({"occurred_at": "2030-01-01T00:00:00"})
