"""The domain's value types as pydantic annotations, for the request models at the HTTP edge.

The records in domain/models.py enforce the same rules with msgspec; these forms let the request
models validate a body with a field-by-field 422 and carry the rules into the OpenAPI document.
Only the HTTP edge imports this module: the stream, bus and webhook functions never load pydantic.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

from referral_engine.domain.identifiers import normalise_email
from referral_engine.domain.money import CURRENCY_PATTERN, MAX_AMOUNT, two_places

Money = Annotated[Decimal, Field(gt=0, le=MAX_AMOUNT), AfterValidator(two_places)]
Currency = Annotated[str, StringConstraints(pattern=CURRENCY_PATTERN)]
Email = Annotated[str, AfterValidator(normalise_email)]
ExternalIds = dict[
    Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,31}$")],
    Annotated[str, StringConstraints(min_length=1, max_length=128)],
]
