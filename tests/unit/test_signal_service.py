"""Accepting qualification signals from the API and the generic webhook."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from referral_engine.domain.errors import InvalidRequest, NotFound
from referral_engine.domain.models import Referral, SignalMatch
from referral_engine.domain.records import Invalid, parse, problems
from referral_engine.services.qualify_request import QualifyRequest
from referral_engine.services.signals import GenericHookRequest
from support.fakes import World


@pytest.fixture
def referral(world: World) -> Referral:
    return world.a_referral(world.an_advocate(world.a_campaign()), "bob@example.com")


def test_qualify_via_the_api_stores_a_signal_for_that_referral(world: World, referral: Referral) -> None:
    occurred = datetime(2024, 5, 1, tzinfo=UTC)

    signal, accepted = world.signals.qualify_referral(
        referral.id,
        QualifyRequest(event_id=" order-1 ", amount=Decimal("25.50"), currency="EUR", occurred_at=occurred),
    )

    assert accepted
    assert (signal.source, signal.event_id, signal.campaign_id) == ("api", "order-1", referral.campaign_id)
    assert signal.match == SignalMatch(referral_id=referral.id)
    assert (signal.amount, signal.currency, signal.occurred_at) == (Decimal("25.50"), "EUR", occurred)
    assert list(world.backend.inbox.signals.values()) == [signal]


def test_qualify_of_an_unknown_referral_is_not_found(world: World) -> None:
    with pytest.raises(NotFound):
        world.signals.qualify_referral("ref_missing", QualifyRequest())
    assert world.backend.inbox.signals == {}


def test_a_repeated_event_id_is_accepted_once(world: World, referral: Referral) -> None:
    _, first = world.signals.qualify_referral(referral.id, QualifyRequest(event_id="order-1"))
    _, again = world.signals.qualify_referral(
        referral.id, QualifyRequest(event_id="order-1", amount=Decimal(9))
    )
    assert (first, again) == (True, False)
    assert len(world.backend.inbox.signals) == 1


def test_without_an_event_id_identical_requests_dedupe(world: World, referral: Referral) -> None:
    request = QualifyRequest(amount=Decimal("25"), currency="EUR")
    first_signal, first = world.signals.qualify_referral(referral.id, request)
    second_signal, again = world.signals.qualify_referral(referral.id, request)
    assert (first, again) == (True, False)
    assert first_signal.event_id == second_signal.event_id
    assert first_signal.event_id.startswith("auto-")


def test_without_an_event_id_a_different_amount_is_a_new_signal(world: World, referral: Referral) -> None:
    _, first = world.signals.qualify_referral(
        referral.id, QualifyRequest(amount=Decimal("25"), currency="EUR")
    )
    _, other = world.signals.qualify_referral(
        referral.id, QualifyRequest(amount=Decimal("30"), currency="EUR")
    )
    assert (first, other) == (True, True)
    assert len(world.backend.inbox.signals) == 2


def test_without_an_event_id_other_referrals_are_not_deduped_together(
    world: World, referral: Referral
) -> None:
    other = world.a_referral(world.an_advocate(world.a_campaign(), "zed@example.com"), "carol@example.com")
    _, first = world.signals.qualify_referral(referral.id, QualifyRequest())
    _, second = world.signals.qualify_referral(other.id, QualifyRequest())
    assert (first, second) == (True, True)


@pytest.mark.parametrize(
    "request_body",
    [
        {"amount": "-1"},
        {"amount": "1.001"},
        {"currency": "eur"},
        {"event_id": ""},
        {"event_id": "x" * 201},
        {"unexpected": 1},
    ],
)
def test_a_qualify_request_is_validated(request_body: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        QualifyRequest.model_validate(request_body)


def test_the_generic_hook_matches_by_the_referred_persons_code(world: World, referral: Referral) -> None:
    campaign = world.campaigns.get(referral.campaign_id)

    signal, accepted = world.signals.accept_generic(
        campaign.hook_id, GenericHookRequest(code=f" {referral.referred_code.upper()} ", event_id="z-1")
    )

    assert accepted
    assert (signal.source, signal.event_id, signal.campaign_id) == ("generic", "z-1", campaign.id)
    assert signal.match == SignalMatch(code=referral.referred_code)


def test_the_generic_hook_matches_by_email_when_there_is_no_code(world: World, referral: Referral) -> None:
    campaign = world.campaigns.get(referral.campaign_id)
    signal, accepted = world.signals.accept_generic(
        campaign.hook_id, parse(GenericHookRequest, {"email": "Bob@Example.com", "extra": "ignored"})
    )
    assert accepted
    assert signal.match == SignalMatch(email="bob@example.com")
    # and the identical call again (no event id) is a duplicate
    _, again = world.signals.accept_generic(campaign.hook_id, GenericHookRequest(email="bob@example.com"))
    assert not again


def test_the_generic_hook_of_an_unknown_hook_id_is_not_found(world: World, referral: Referral) -> None:
    with pytest.raises(NotFound):
        world.signals.accept_generic("not-a-hook", GenericHookRequest(code=referral.referred_code))
    assert world.backend.inbox.signals == {}


@pytest.mark.parametrize("code", ["../x", "<script>", "ab"])
def test_the_generic_hook_refuses_a_malformed_code(world: World, referral: Referral, code: str) -> None:
    campaign = world.campaigns.get(referral.campaign_id)
    with pytest.raises(InvalidRequest, match="code"):
        world.signals.accept_generic(campaign.hook_id, GenericHookRequest(code=code, email="bob@example.com"))
    assert world.backend.inbox.signals == {}


@pytest.mark.parametrize("request_body", [{}, {"code": ""}, {"amount": "10"}])
def test_the_generic_hook_needs_a_code_or_an_email(
    world: World, referral: Referral, request_body: dict[str, object]
) -> None:
    campaign = world.campaigns.get(referral.campaign_id)
    with pytest.raises(InvalidRequest):
        world.signals.accept_generic(campaign.hook_id, parse(GenericHookRequest, request_body))
    assert world.backend.inbox.signals == {}


def test_a_generic_hook_request_is_read_leniently_and_normalised() -> None:
    request = parse(
        GenericHookRequest,
        {
            "event_id": " order-1 ",
            "amount": "79.50",
            "email": " Bob@Example.com ",
            "occurred_at": "2026-01-01T00:00:00Z",
        },
    )
    assert (request.event_id, request.amount, request.email) == (
        "order-1",
        Decimal("79.50"),
        "bob@example.com",
    )
    assert request.occurred_at == datetime(2026, 1, 1, tzinfo=UTC)
    assert parse(GenericHookRequest, {"amount": 12.5, "unknown": "ignored"}).amount == Decimal("12.5")


@pytest.mark.parametrize(
    ("request_body", "field"),
    [
        ({"amount": "lots"}, "amount"),
        ({"amount": "0"}, "amount"),
        ({"amount": "NaN"}, "amount"),
        ({"amount": "1000000.01"}, "amount"),
        ({"amount": "1.001"}, "amount"),
        ({"currency": "eur"}, "currency"),
        ({"event_id": "  "}, "event_id"),
        ({"event_id": "x" * 201}, "event_id"),
        ({"occurred_at": "2030-01-01T00:00:00"}, "occurred_at"),
        ({"code": "x" * 65}, "code"),
        ({"code": 12}, "code"),
        ({"email": "bob"}, "email"),
    ],
)
def test_a_generic_hook_request_names_the_field_it_refuses(
    request_body: dict[str, object], field: str
) -> None:
    with pytest.raises(Invalid) as refused:
        parse(GenericHookRequest, request_body)
    assert problems(refused.value).startswith(f"{field}: ")


def test_the_same_event_id_on_two_campaigns_hooks_is_two_signals(world: World) -> None:
    # Given two campaigns, each wired to its own generic webhook by its own integration
    spring, autumn = world.a_campaign(), world.a_campaign()
    bob = world.a_referral(world.an_advocate(spring, "ann@example.com"), "bob@example.com")
    carol = world.a_referral(world.an_advocate(autumn, "dan@example.com"), "carol@example.com")

    # When both integrations number their events from 1
    _, first = world.signals.accept_generic(
        spring.hook_id, GenericHookRequest(code=bob.referred_code, event_id="1")
    )
    _, second = world.signals.accept_generic(
        autumn.hook_id, GenericHookRequest(code=carol.referred_code, event_id="1")
    )

    # Then both are stored (otherwise carol's referral never qualifies)
    assert (first, second) == (True, True)
