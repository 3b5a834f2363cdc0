"""Zoho CRM: a workflow rule's webhook action, posting the parameters the user configured.

Zoho sends what the webhook's configuration says: module fields as parameters (`Stage` =
`${Deals.Stage}`, `record_id` = `${Deals.Deal Id}`, `email` = `${Contacts.Email}`), form-encoded
(`application/x-www-form-urlencoded`) or as a raw JSON body, plus URL parameters. Zoho signs nothing:
the user adds the connection's secret as a custom header `X-Referrals-Secret` (preferred) or a
`secret` parameter (body or URL), compared in constant time.

The milestone is a field value, `{"field": "Stage", "value": "Closed Won"}`: `field` names the
parameter that carries the field. Calls where it has another value are ignored (a rule may fire on
every edit). Zoho sends no event id, so the event id is the fact itself: the record and the
milestone reached (`{record id}:Stage=Closed Won`); the same record reaching it again is a duplicate.

Matching, in the matcher's order: the record id as stored at signup (`external_ids: {"zoho": "<id>"}`),
then a referral code parameter, then the email. See docs/vendors/zoho.md.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl

import msgspec

from referral_engine.domain.identifiers import normalise_code, normalise_email, sha256_hex
from referral_engine.domain.json_text import read_json
from referral_engine.domain.models import Connection, Signal, SignalKind, SignalMatch
from referral_engine.domain.records import Invalid, Record, parse, problems
from referral_engine.domain.webhooks import (
    InboundRequest,
    MalformedWebhook,
    Normalised,
    VendorReply,
    WebhookRefused,
    same,
    state_event_id,
)

SOURCE = "zoho"
SECRET_HEADER = "x-referrals-secret"  # noqa: S105 - a header name, not a secret
SECRET_PARAMETER = "secret"  # noqa: S105 - a parameter name, not a secret
# Our names for what we read → the parameter names the webhook sends unless settings rename them.
DEFAULT_PARAMETERS: dict[str, str] = {
    "record_id": "record_id",
    "email": "email",
    "code": "referral_code",
    "amount": "amount",
    "currency": "currency",
}
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_NUMBER = re.compile(r"^[^\d-]*?(-?\d+(?:\.\d+)?)\s*$")  # "24000.0", "24,000.00", "$ 24000"
_MAX_EVENT_ID = 160  # of the 200 a signal's event id may have: room for the amount

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]  # read `_stripped`
Value = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class _Milestone(Record, forbid_unknown_fields=True):
    field: Name
    value: Value


class _Settings(Record, forbid_unknown_fields=True):
    record_id: Name | None = None
    email: Name | None = None
    code: Name | None = None
    amount: Name | None = None
    currency: Name | None = None


class _Rule(Record):
    """What `validate_connection` checks, so that a problem is located as `milestone.…`/`settings.…`."""

    milestone: _Milestone
    settings: _Settings


def _stripped(fields: dict[str, Any]) -> dict[str, Any]:
    """Names and values as the user meant them: a pasted " Stage" is `Stage`, " " is empty."""
    return {key: value.strip() if isinstance(value, str) else value for key, value in fields.items()}


class ZohoAdapter:
    source = SOURCE
    vendor_issues_secret = False

    def validate_connection(self, milestone: dict[str, Any], settings: dict[str, Any]) -> None:
        try:
            parse(_Rule, {"milestone": _stripped(milestone), "settings": _stripped(settings)})
        except Invalid as error:
            raise ValueError(
                f"{problems(error)} (a zoho milestone is "
                '{"field": "<parameter>", "value": "<value>"}; settings rename parameters)'
            ) from None

    def verify(self, request: InboundRequest, secret: str, connection: Connection) -> None:
        given = request.header(SECRET_HEADER)
        if given is None:
            given = _readable_parameters(request).get(SECRET_PARAMETER)
        if given is None:
            given = request.query.get(SECRET_PARAMETER)
        if not same(secret, given):
            raise WebhookRefused(
                f"neither the {SECRET_HEADER} header nor a `{SECRET_PARAMETER}` parameter "
                "carries this connection's secret"
            )

    def normalise(self, request: InboundRequest, connection: Connection) -> Normalised:
        params = {**request.query, **_parameters(request)}
        params.pop(SECRET_PARAMETER, None)
        rule = parse(_Milestone, _stripped(connection.milestone))
        renamed = {key: name for key, name in connection.settings.items() if isinstance(name, str) and name}
        names = {**DEFAULT_PARAMETERS, **renamed}

        reached = _lookup(params, rule.field)
        if reached is None:
            raise MalformedWebhook(f"the webhook does not send the `{rule.field}` parameter")
        if reached.strip().casefold() != rule.value.casefold():
            return Normalised([], [f"`{rule.field}` is not {rule.value!r}"])

        record_id = _record_id(_lookup(params, names["record_id"]))
        code = _code(_lookup(params, names["code"]))
        email = _email(_lookup(params, names["email"]))
        external_id = f"{SOURCE}:{record_id}" if record_id else None
        match = SignalMatch(external_id=external_id, code=code, email=email)
        if match.is_empty():
            raise MalformedWebhook(
                f"send the record id (`{names['record_id']}`), a referral code (`{names['code']}`) "
                f"or an email (`{names['email']}`) to match the referral"
            )
        amount = _amount(_lookup(params, names["amount"]))
        currency = _currency(_lookup(params, names["currency"]))
        signal = Signal(
            source=SOURCE,
            event_id=state_event_id(_event_id(record_id, code, email, rule), amount, currency),
            campaign_id=connection.campaign_id,
            kind=SignalKind.QUALIFY,
            match=match,
            amount=amount,
            currency=currency,
            received_at=request.received_at,
        )
        return Normalised([signal])

    def reply(self, normalised: Normalised) -> VendorReply:
        return VendorReply(200, json.dumps({"accepted": len(normalised.signals)}))


def _parameters(request: InboundRequest) -> dict[str, str]:
    """The body's parameters: form-encoded or a JSON object (Zoho's "Raw" body), by content type."""
    content_type = (request.header("content-type") or "").split(";")[0].strip().lower()
    try:
        text = request.body.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedWebhook("the body is not UTF-8") from None
    if not text.strip():
        return {}
    if content_type == "application/x-www-form-urlencoded":
        return dict(parse_qsl(text, keep_blank_values=True))
    if content_type.endswith("json") or text.lstrip().startswith("{"):
        return _json_parameters(text)
    if "=" in text:
        return dict(parse_qsl(text, keep_blank_values=True))
    raise MalformedWebhook(f"send the parameters form-encoded or as JSON, not as {content_type or 'text'}")


def _readable_parameters(request: InboundRequest) -> dict[str, str]:
    """For looking up the secret before the call is authentic: an unreadable body has no secret."""
    try:
        return _parameters(request)
    except MalformedWebhook:
        return {}


def _json_parameters(text: str) -> dict[str, str]:
    try:
        parsed = read_json(text, parse_float=Decimal)
    except ValueError as error:
        raise MalformedWebhook(f"the body is not valid JSON: {error}") from error
    if not isinstance(parsed, dict):
        raise MalformedWebhook("the JSON body must be an object of parameters")
    flat: dict[str, str] = {}
    for key, value in parsed.items():
        if isinstance(value, bool):
            flat[key] = str(value).lower()
        elif isinstance(value, str | int | Decimal):
            flat[key] = str(value)
    return flat


def _lookup(params: dict[str, str], name: str) -> str | None:
    """The parameter's non-blank value; names are matched exactly, then ignoring case."""
    value = params.get(name)
    if value is None:
        wanted = name.casefold()
        value = next((v for k, v in params.items() if k.casefold() == wanted), None)
    if value is None or not value.strip():
        return None
    return value.strip()


def _record_id(raw: str | None) -> str | None:
    if raw is None:
        return None
    record_id = raw.removeprefix("zcrm_")  # some Zoho merge fields prefix record ids
    if len(record_id) > 128:
        raise MalformedWebhook("the record id is longer than 128 characters")
    return record_id


def _code(raw: str | None) -> str | None:
    return normalise_code(raw) if raw else None


def _email(raw: str | None) -> str | None:
    if raw is None:
        return None
    try:
        return normalise_email(raw)
    except ValueError:
        return None  # a record without a (valid) email: match on the rest


def _amount(raw: str | None) -> Decimal | None:
    if raw is None:
        return None
    found = _NUMBER.fullmatch(raw.replace(",", "").replace(" ", ""))
    try:
        return Decimal(found.group(1)) if found else _not_a_number(raw)
    except InvalidOperation:
        return _not_a_number(raw)


def _not_a_number(raw: str) -> Decimal:
    raise MalformedWebhook(f"the amount {raw[:40]!r} is not a number")


def _currency(raw: str | None) -> str | None:
    if raw is None:
        return None
    currency = raw.upper()
    if not _CURRENCY.fullmatch(currency):
        raise MalformedWebhook(f"the currency {raw[:40]!r} is not an ISO 4217 code")
    return currency


def _event_id(record_id: str | None, code: str | None, email: str | None, rule: _Milestone) -> str:
    """The record (else the code, else the email's digest: no email in keys) and the milestone."""
    who: Literal["record", "code", "email"]
    if record_id:
        who, value = "record", record_id
    elif code:
        who, value = "code", code
    else:
        who, value = "email", sha256_hex(email or "")[:32]
    event_id = f"{who}-{value}:{rule.field}={rule.value}"
    if len(event_id) > _MAX_EVENT_ID:
        event_id = f"{who}-{sha256_hex(value)[:32]}:{sha256_hex(f'{rule.field}={rule.value}')[:32]}"
    return event_id


__all__ = ["ZohoAdapter"]
