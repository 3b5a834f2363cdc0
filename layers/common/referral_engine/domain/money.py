"""Money: Decimal in major units, at most two decimal places, up to a million per amount."""

from __future__ import annotations

import re
from decimal import Decimal

MAX_AMOUNT = Decimal("1000000")
CURRENCY_PATTERN = r"^[A-Z]{3}$"


def two_places(value: Decimal) -> Decimal:
    if value.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ValueError("at most two decimal places")
    return value


_CURRENCY = re.compile(CURRENCY_PATTERN)


def check_money(name: str, value: Decimal) -> None:
    if not value.is_finite() or not 0 < value <= MAX_AMOUNT:
        raise ValueError(f"{name}: more than 0 and at most {MAX_AMOUNT}")
    try:
        two_places(value)
    except ValueError as error:
        raise ValueError(f"{name}: {error}") from None


def check_currency(name: str, value: str) -> None:
    if not _CURRENCY.fullmatch(value):
        raise ValueError(f"{name}: a three-letter ISO 4217 code in capitals")
