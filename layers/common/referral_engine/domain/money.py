"""Money: Decimal in major units, at most two decimal places, up to a million per amount."""

from __future__ import annotations

from decimal import Decimal

MAX_AMOUNT = Decimal("1000000")
CURRENCY_PATTERN = r"^[A-Z]{3}$"


def two_places(value: Decimal) -> Decimal:
    if value.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ValueError("at most two decimal places")
    return value
