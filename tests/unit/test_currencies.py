"""The committed ISO 4217 list is pycountry's (Debian iso-codes), less the units that are not money."""

from __future__ import annotations

import pycountry
import pytest

from referral_engine.domain.currencies import ISO_4217, NOT_MONEY
from referral_engine.domain.money import check_currency


def test_the_list_is_the_maintained_one() -> None:
    maintained = {currency.alpha_3 for currency in pycountry.currencies}
    assert maintained - NOT_MONEY == ISO_4217
    assert maintained >= NOT_MONEY


@pytest.mark.parametrize("code", ["USD", "EUR", "JPY", "XOF", "CHF"])
def test_a_circulating_currency_is_accepted(code: str) -> None:
    check_currency("currency", code)


@pytest.mark.parametrize("code", ["ABC", "XAU", "XTS", "usd", "US", "ZZZ"])
def test_a_code_that_is_no_currency_is_refused(code: str) -> None:
    with pytest.raises(ValueError, match="ISO 4217"):
        check_currency("currency", code)
