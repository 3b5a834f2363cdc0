"""The API's qualify and reverse requests (`POST /v1/referrals/{referral_id}/qualify|reverse`): pydantic
models, as the API's other request models, since the OpenAPI document is generated from them. The
generic webhook's request is a record (services/signals.py): inbound_webhook does not load pydantic."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from referral_engine.domain.fields import Currency, EventTime, Money

EventId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class QualifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_id: EventId | None = None
    amount: Money | None = None
    currency: Currency | None = None
    occurred_at: EventTime | None = None


# A reversal's signal is stored under `<event_id>:reverse`, apart from a qualification under the same id.
ReverseEventId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=190)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class ReverseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason = Field(
        description="Why the qualification is undone (a refund, a cancelled order…): "
        "kept on the referral, in its audit trail and on the `referral.reversed` event."
    )
    event_id: ReverseEventId | None = None
    occurred_at: EventTime | None = Field(
        default=None,
        description="When the refund or cancellation happened: one before the payment that qualifies the "
        "referral is held until that payment comes.",
    )
