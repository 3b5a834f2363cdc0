"""Zapier and Make: a Zap's "Webhooks by Zapier" action or a scenario's HTTP module posts JSON to the
connection's URL with the connection's secret in a header. The automation decides when the milestone
is reached; the campaign's own milestone (amount, currency, days) still applies in qualify."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, StringConstraints, ValidationError

from referral_engine.domain.identifiers import normalise_code
from referral_engine.domain.models import Connection, Currency, Email, Signal, SignalKind, SignalMatch
from referral_engine.domain.webhooks import (
    InboundRequest,
    MalformedWebhook,
    Normalised,
    VendorReply,
    WebhookRefused,
    same,
)

SECRET_HEADER = "x-referrals-secret"  # noqa: S105 - a header name, not a secret


class AutomationCall(BaseModel):
    model_config = ConfigDict(extra="ignore")

    event_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    event: Literal["qualify", "reverse"] = "qualify"
    code: str | None = None
    referral_code: str | None = None
    email: Email | None = None
    external_id: Annotated[str, StringConstraints(max_length=160)] | None = None  # "stripe:cus_123"
    amount: Decimal | None = None
    currency: Currency | None = None
    occurred_at: AwareDatetime | None = None


class _AutomationAdapter:
    source = "automation"

    def validate_connection(self, milestone: dict[str, Any], settings: dict[str, Any]) -> None:
        if milestone or settings:
            raise ValueError(
                f"{self.source} connections take no milestone or settings: the automation decides"
            )

    def verify(self, request: InboundRequest, secret: str, connection: Connection) -> None:
        given = request.header(SECRET_HEADER)
        if given is None:
            scheme, _, token = (request.header("authorization") or "").partition(" ")
            given = token if scheme.lower() == "bearer" else None
        if not same(secret, given):
            raise WebhookRefused(f"the {SECRET_HEADER} header does not carry this connection's secret")

    def normalise(self, request: InboundRequest, connection: Connection) -> Normalised:
        try:
            call = AutomationCall.model_validate(json.loads(request.body or b"{}"))
        except (ValueError, ValidationError) as error:
            raise MalformedWebhook(f"not a valid {self.source} call: {error}") from error
        raw_code = call.code or call.referral_code
        code = normalise_code(raw_code) if raw_code else None
        if raw_code and code is None:
            raise MalformedWebhook("`code` is not a referral code")
        match = SignalMatch(code=code, email=call.email, external_id=call.external_id)
        if match.is_empty():
            raise MalformedWebhook("pass the referred person's `code`, `email` or `external_id`")
        signal = Signal(
            source=self.source,
            event_id=call.event_id,
            campaign_id=connection.campaign_id,
            kind=SignalKind(call.event),
            match=match,
            amount=call.amount,
            currency=call.currency,
            occurred_at=call.occurred_at,
            received_at=request.received_at,
        )
        return Normalised([signal])

    def reply(self, normalised: Normalised) -> VendorReply:
        return VendorReply(200, json.dumps({"accepted": len(normalised.signals)}))


class ZapierAdapter(_AutomationAdapter):
    source = "zapier"


class MakeAdapter(_AutomationAdapter):
    source = "make"


__all__ = ["MakeAdapter", "ZapierAdapter"]
