"""Money: Decimal in major units, at most two decimal places, up to a million per amount."""

from __future__ import annotations

from decimal import Decimal

from referral_engine.domain.currencies import ISO_4217

MAX_AMOUNT = Decimal("1000000")
# The codes of domain/currencies.py as one pattern, for every model that states its rules as
# constraints (msgspec's Meta, pydantic's, and so the OpenAPI document).
CURRENCY_PATTERN = f"^(?:{'|'.join(sorted(ISO_4217))})$"


# An amount a vendor reports (a payment, a deal's value) is kept as sent, within what any real one is
# and what a stored number holds (DynamoDB: 38 significant digits).
MAX_REPORTED_AMOUNT = Decimal("1000000000000")
MAX_REPORTED_DIGITS = 38


def check_reported_amount(value: Decimal) -> None:
    """ValueError unless `value` is a finite number from 0 to a trillion, of at most 38 significant
    digits and 38 decimal places."""
    if not value.is_finite() or not 0 <= value <= MAX_REPORTED_AMOUNT:
        raise ValueError(f"from 0 to {MAX_REPORTED_AMOUNT}")
    digits, exponent = len(value.as_tuple().digits), int(value.as_tuple().exponent)
    if digits > MAX_REPORTED_DIGITS or exponent < -MAX_REPORTED_DIGITS:
        raise ValueError(f"at most {MAX_REPORTED_DIGITS} significant digits")


def two_places(value: Decimal) -> Decimal:
    if value.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ValueError("at most two decimal places")
    return value


def check_money(name: str, value: Decimal) -> None:
    if not value.is_finite() or not 0 < value <= MAX_AMOUNT:
        raise ValueError(f"{name}: more than 0 and at most {MAX_AMOUNT}")
    try:
        two_places(value)
    except ValueError as error:
        raise ValueError(f"{name}: {error}") from None


def currency_code(value: str) -> str:
    """`value` if it is the code of a currency in ISO 4217 (domain/currencies.py), else ValueError."""
    if value not in ISO_4217:
        raise ValueError("a currency's three-letter ISO 4217 code in capitals (e.g. USD)")
    return value


def check_currency(name: str, value: str) -> None:
    try:
        currency_code(value)
    except ValueError as error:
        raise ValueError(f"{name}: {error}") from None
