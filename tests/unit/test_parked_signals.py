"""A signal the inbox cannot store (its store throttled or failing after the client's retries): parked in
the exceptions queue when its sender does not deliver again, where an admin's redrive reads it back;
an error for a sender that redelivers (answered 5xx, so it calls again)."""

from __future__ import annotations

import json

import pytest

from referral_engine.domain.models import Referral, Signal
from referral_engine.ports import InboxUnavailable, QueuedMessage
from referral_engine.services.admin_redrive import stored_signal
from referral_engine.services.qualify_request import QualifyRequest
from referral_engine.services.signals import GenericHookRequest, SignalService, store_or_park
from support.fakes import InMemoryExceptionSink, World


class UnavailableInbox:
    def accept(self, signal: Signal) -> bool:
        raise InboxUnavailable(f"signal {signal.dedupe_key} not stored: throttled")


@pytest.fixture
def referral(world: World) -> Referral:
    return world.a_referral(world.an_advocate(world.a_campaign()), "bob@example.com")


def test_a_generic_hook_signal_is_parked_where_a_redrive_reads_it_back(
    world: World, referral: Referral
) -> None:
    parking = InMemoryExceptionSink()
    signals = SignalService(
        world.backend.campaigns, world.backend.referrals, UnavailableInbox(), parking=parking
    )
    hook_id = world.campaigns.get(referral.campaign_id).hook_id

    signal, accepted = signals.accept_generic(
        hook_id, GenericHookRequest(code=referral.referred_code, event_id="z-1")
    )

    assert accepted  # answered as stored: the automation tool will not call again
    [report] = parking.reports
    assert report["reason"] == "inbox_unavailable"
    message = QueuedMessage(
        queue="exceptions", message_id="m-1", body=json.dumps(report), receipt_handle="r-1"
    )
    assert stored_signal(message) == signal


def test_a_sender_that_redelivers_gets_the_error_and_nothing_is_parked(
    world: World, referral: Referral
) -> None:
    parking = InMemoryExceptionSink()
    signal, _ = world.signals.accept_generic(
        world.campaigns.get(referral.campaign_id).hook_id, GenericHookRequest(code=referral.referred_code)
    )

    with pytest.raises(InboxUnavailable):
        store_or_park(UnavailableInbox(), parking, signal, redelivered=True)
    assert parking.reports == []


def test_the_api_qualify_route_never_parks(world: World, referral: Referral) -> None:
    """A server calling the API retries on a 5xx itself (with its Idempotency-Key)."""
    parking = InMemoryExceptionSink()
    signals = SignalService(
        world.backend.campaigns, world.backend.referrals, UnavailableInbox(), parking=parking
    )

    with pytest.raises(InboxUnavailable):
        signals.qualify_referral(referral.id, QualifyRequest(event_id="order-1"))
    assert parking.reports == []
