"""The hold period: how long a campaign keeps a reward `pending` before it is released (docs/adr/0020).

`hold_days` is a Decimal number of days, fractions allowed (0.5 = 12 hours), from 0 (no hold: the
reward is fulfilled at once) to a year, to the microsecond-ish resolution of six decimal places.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

MAX_HOLD_DAYS = Decimal(365)
HOLD_DAYS_PLACES = 6
_MICROSECONDS_A_DAY = 86_400_000_000


def check_hold_days(value: Decimal) -> None:
    if not value.is_finite() or not 0 <= value <= MAX_HOLD_DAYS:
        raise ValueError(f"hold_days: from 0 to {MAX_HOLD_DAYS}")
    if int(value.as_tuple().exponent) < -HOLD_DAYS_PLACES:
        raise ValueError(f"hold_days: at most {HOLD_DAYS_PLACES} decimal places")


def hold_period(hold_days: Decimal) -> timedelta:
    return timedelta(microseconds=int(hold_days * _MICROSECONDS_A_DAY))


def release_time(held_since: datetime, hold_days: Decimal) -> datetime | None:
    """When a reward held since `held_since` is due; None without a hold (fulfilled at once)."""
    if hold_days == 0:
        return None
    return held_since + hold_period(hold_days)
