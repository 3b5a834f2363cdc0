"""The API's qualify request (`POST /v1/referrals/{referral_id}/qualify`): a pydantic model, as the API's
other request models, since the OpenAPI document is generated from them. The generic webhook's request
is a record (services/signals.py): inbound_webhook does not load pydantic."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from referral_engine.domain.fields import Currency, EventTime, Money

EventId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class QualifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_id: EventId | None = None
    amount: Money | None = None
    currency: Currency | None = None
    occurred_at: EventTime | None = None
