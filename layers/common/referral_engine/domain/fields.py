"""The domain's value types as pydantic annotations, for the request models at the HTTP edge.

The records in domain/models.py enforce the same rules with msgspec; these forms let the request
models validate a body with a field-by-field 422 and carry the rules into the OpenAPI document.
Only the HTTP edge imports this module: the stream, bus and webhook functions never load pydantic.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field, StringConstraints

from referral_engine.domain.identifiers import normalise_email
from referral_engine.domain.money import CURRENCY_PATTERN, MAX_AMOUNT, two_places
from referral_engine.domain.times import check_event_time

_CANONICAL_AMOUNT = re.compile(r"\d{1,7}(\.\d{1,2})?")


def _canonical_amount(value: Any) -> Any:
    """An amount is a JSON number or its plain decimal text ("12.50"): not "1e3", "+5", " 5", "NaN"
    nor true, which Decimal would read as other amounts or as 1."""
    if isinstance(value, bool) or (isinstance(value, str) and not _CANONICAL_AMOUNT.fullmatch(value)):
        raise ValueError("a decimal amount such as 12.50")
    return value


Money = Annotated[
    Decimal, BeforeValidator(_canonical_amount), Field(gt=0, le=MAX_AMOUNT), AfterValidator(two_places)
]
Currency = Annotated[str, StringConstraints(pattern=CURRENCY_PATTERN)]
EventTime = Annotated[AwareDatetime, AfterValidator(check_event_time)]
Email = Annotated[str, AfterValidator(normalise_email)]
ExternalIds = dict[
    Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,31}$")],
    Annotated[str, StringConstraints(min_length=1, max_length=128)],
]
