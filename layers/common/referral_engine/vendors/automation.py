"""Zapier and Make: a Zap's "Webhooks by Zapier" action or a scenario's HTTP module posts JSON to the
connection's URL with the connection's secret in a header. The automation decides when the milestone
is reached; the campaign's own milestone (amount, currency, days) still applies in qualify."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

import msgspec

from referral_engine.domain.identifiers import normalise_code, normalise_email
from referral_engine.domain.models import Connection, Signal, SignalKind, SignalMatch
from referral_engine.domain.money import CURRENCY_PATTERN
from referral_engine.domain.records import Invalid, Record, parse, problems
from referral_engine.domain.webhooks import (
    InboundRequest,
    MalformedWebhook,
    Normalised,
    VendorReply,
    WebhookRefused,
    blanks_to_none,
    same,
)

SECRET_HEADER = "x-referrals-secret"  # noqa: S105 - a header name, not a secret
_BODY = msgspec.json.Decoder(dict[str, Any], float_hook=Decimal)  # 12.10 stays 12.10

EventId = Annotated[str, msgspec.Meta(min_length=1, max_length=190)]
ExternalId = Annotated[str, msgspec.Meta(max_length=160)]  # as stored at signup: "stripe:cus_123"
Currency = Annotated[str, msgspec.Meta(pattern=CURRENCY_PATTERN)]
Reason = Annotated[str, msgspec.Meta(max_length=500)]
AwareDatetime = Annotated[datetime, msgspec.Meta(tz=True)]


class AutomationCall(Record):
    event_id: EventId
    event: Literal["qualify", "reverse"] = "qualify"
    code: str | None = None
    referral_code: str | None = None
    email: str | None = None
    external_id: ExternalId | None = None
    amount: Decimal | None = None
    currency: Currency | None = None
    occurred_at: AwareDatetime | None = None
    reason: Reason | None = None  # a reversal's: kept on the referral and its `referral.reversed` event

    @property
    def signal_event_id(self) -> str:
        """A reversal keeps apart from the qualification it undoes, even when the automation sends the
        same id for both (the invoice's id, say)."""
        return self.event_id if self.event == "qualify" else f"{self.event_id}:reverse"


def _read(body: dict[str, Any]) -> AutomationCall:
    """The call as the tool meant it: Zapier and Make send "" for a mapped field left empty, an id
    mapped from a number (Make's `{{1.id}}` unquoted) is the same id as text, and a currency may come
    in lower case (Stripe and others send "usd")."""
    fields = blanks_to_none(body)
    for name in ("event_id", "external_id", "reason"):
        value = fields.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            fields[name] = str(value)
        elif isinstance(value, str):
            fields[name] = value.strip()
    if isinstance(currency := fields.get("currency"), str):
        fields["currency"] = currency.strip().upper()
    return parse(AutomationCall, fields)


def _email(call: AutomationCall) -> str | None:
    try:
        return normalise_email(call.email) if call.email else None
    except ValueError:
        raise MalformedWebhook("`email` is not an email address") from None


def _amount(call: AutomationCall) -> Decimal | None:
    if call.amount is not None and not (call.amount.is_finite() and call.amount >= 0):
        raise MalformedWebhook("`amount` is not a number of 0 or more")
    return call.amount


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
            call = _read(_BODY.decode(request.body or b"{}"))
        except msgspec.ValidationError as error:
            raise MalformedWebhook(f"not a valid {self.source} call: {problems(error, 'body')}") from error
        except (Invalid, RecursionError) as error:  # RecursionError: nested deeper than msgspec follows
            raise MalformedWebhook(f"a {self.source} call is a JSON object") from error
        field, raw_code = ("code", call.code) if call.code else ("referral_code", call.referral_code)
        code = normalise_code(raw_code) if raw_code else None
        if raw_code and code is None:
            raise MalformedWebhook(f"`{field}` is not a referral code")
        match = SignalMatch(code=code, email=_email(call), external_id=call.external_id)
        if match.is_empty():
            raise MalformedWebhook("pass the referred person's `code`, `email` or `external_id`")
        signal = Signal(
            source=self.source,
            event_id=call.signal_event_id,
            campaign_id=connection.campaign_id,
            kind=SignalKind(call.event),
            match=match,
            amount=_amount(call),
            currency=call.currency,
            occurred_at=call.occurred_at,
            received_at=request.received_at,
            reason=(call.reason or None) if call.event == "reverse" else None,
        )
        return Normalised([signal])

    def reply(self, normalised: Normalised) -> VendorReply:
        return VendorReply(200, json.dumps({"accepted": len(normalised.signals)}))


class ZapierAdapter(_AutomationAdapter):
    source = "zapier"


class MakeAdapter(_AutomationAdapter):
    source = "make"


__all__ = ["MakeAdapter", "ZapierAdapter"]
