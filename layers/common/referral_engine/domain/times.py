"""The times a caller may report for an event: a bounded window, so a typo cannot date it 1900 or 2999."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EARLIEST_EVENT = datetime(2000, 1, 1, tzinfo=UTC)
CLOCK_SKEW = timedelta(days=1)  # the caller's clock may run ahead of ours


def check_event_time(value: datetime) -> datetime:
    """`value` (timezone-aware) if it is between 2000-01-01 and a day from now, else ValueError."""
    if not EARLIEST_EVENT <= value <= datetime.now(UTC) + CLOCK_SKEW:
        raise ValueError("a time between 2000-01-01 and tomorrow")
    return value
