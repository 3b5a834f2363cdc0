"""Zapier and Make: a Zap's "Webhooks by Zapier" action or a scenario's HTTP module posts JSON to the
connection's URL with the connection's secret in a header. The automation decides when the milestone
is reached; the campaign's own milestone (amount, currency, days) still applies in qualify."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from referral_engine.domain.fields import Currency, Email
from referral_engine.domain.identifiers import normalise_code
from referral_engine.domain.models import Connection, Signal, SignalKind, SignalMatch
from referral_engine.domain.webhooks import (
    InboundRequest,
    MalformedWebhook,
    Normalised,
    VendorReply,
    WebhookRefused,
    blank_is_none,
    problems,
    same,
)

SECRET_HEADER = "x-referrals-secret"  # noqa: S105 - a header name, not a secret


def _text(value: Any) -> Any:
    """An id mapped from a number (Make's `{{1.id}}` unquoted) is the same id as text; trimmed."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value.strip() if isinstance(value, str) else value


def _currency(value: Any) -> Any:
    value = blank_is_none(value)
    return value.strip().upper() if isinstance(value, str) else value  # Stripe and others send "usd"


BlankIsNone = BeforeValidator(blank_is_none)  # Zapier and Make send "" for a mapped field left empty
ExternalId = Annotated[str, StringConstraints(max_length=160)]  # as stored at signup: "stripe:cus_123"
Amount = Annotated[Decimal, Field(ge=0)]


class AutomationCall(BaseModel):
    model_config = ConfigDict(extra="ignore")

    event_id: Annotated[str, StringConstraints(min_length=1, max_length=190), BeforeValidator(_text)]
    event: Literal["qualify", "reverse"] = "qualify"
    code: Annotated[str | None, BlankIsNone] = None
    referral_code: Annotated[str | None, BlankIsNone] = None
    email: Annotated[Email | None, BlankIsNone] = None
    external_id: Annotated[ExternalId | None, BeforeValidator(_text), BlankIsNone] = None
    amount: Annotated[Amount | None, BlankIsNone] = None
    currency: Annotated[Currency | None, BeforeValidator(_currency)] = None
    occurred_at: Annotated[AwareDatetime | None, BlankIsNone] = None

    @property
    def signal_event_id(self) -> str:
        """A reversal keeps apart from the qualification it undoes, even when the automation sends the
        same id for both (the invoice's id, say)."""
        return self.event_id if self.event == "qualify" else f"{self.event_id}:reverse"


class _AutomationAdapter:
    source = "automation"
    vendor_issues_secret = False

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
        except ValidationError as error:
            raise MalformedWebhook(f"not a valid {self.source} call: {problems(error, 'body')}") from error
        except ValueError as error:
            raise MalformedWebhook(f"a {self.source} call is a JSON object") from error
        field, raw_code = ("code", call.code) if call.code else ("referral_code", call.referral_code)
        code = normalise_code(raw_code) if raw_code else None
        if raw_code and code is None:
            raise MalformedWebhook(f"`{field}` is not a referral code")
        match = SignalMatch(code=code, email=call.email, external_id=call.external_id)
        if match.is_empty():
            raise MalformedWebhook("pass the referred person's `code`, `email` or `external_id`")
        signal = Signal(
            source=self.source,
            event_id=call.signal_event_id,
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
