"""Event ids for vendors that send none: the record, its milestone and the amount, written canonically."""

from __future__ import annotations

from decimal import Decimal

import pytest

from referral_engine.domain.models import MAX_EVENT_ID
from referral_engine.domain.webhooks import state_event_id


def test_without_an_amount_the_id_is_the_record_reaching_its_milestone() -> None:
    assert state_event_id("deal-1042-won", None, "USD") == "deal-1042-won"


@pytest.mark.parametrize("written", ["1200", "1200.0", "1200.00", "1.2E+3"])
def test_one_amount_however_it_is_written_is_one_event(written: str) -> None:
    """A form and a JSON webhook on one rule, or Pipedrive's v1 and v2 side by side, must dedupe."""
    assert state_event_id("deal-1042-won", Decimal(written), "USD") == "deal-1042-won@1200USD"


def test_another_amount_is_another_event() -> None:
    assert state_event_id("deal-1042-won", Decimal("1200.5"), "USD") == "deal-1042-won@1200.5USD"
    assert state_event_id("deal-1042-won", Decimal("1200"), None) == "deal-1042-won@1200"


def test_the_id_never_outgrows_a_signals_event_id() -> None:
    reached = "r" * 190
    long_amount = Decimal("1234567890123456789.123456789")

    digested = state_event_id(reached, long_amount, "USD")
    other = state_event_id(reached, long_amount + 1, "USD")

    assert len(digested) == MAX_EVENT_ID
    assert digested.startswith("r" * 100)
    assert digested != other
