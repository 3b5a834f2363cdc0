"""Salesforce: Outbound Messages (SOAP 1.1) and Flow HTTP callouts (JSON) at one connection URL.

**Outbound Messages** (a workflow rule's or a record-triggered flow's "Outbound Message" action) POST a
SOAP `notifications` envelope of up to 100 `Notification`s, each a notification `Id` and an `sObject`
with the fields the admin picked. They carry no signature, so a call must prove itself twice:
- the connection's secret in the endpoint URL's query (`…/hooks/salesforce/{hook_id}?secret=…`),
  compared in constant time (else 401), and
- the envelope's `OrganizationId` equal to the connection's `organization_id` setting, compared on the
  case-sensitive 15-character form (else 403).
We answer `notificationsResponse` with `<Ack>true</Ack>` once the signals are stored; without it
Salesforce redelivers for 24 hours. The notification `Id` is the event id (redeliveries repeat it).

XML safety: the body must be UTF-8 and contain no `<!DOCTYPE` (nor `<!ENTITY`): without a document
type there are no entity declarations, so nothing can expand or be fetched; ElementTree (expat) never
resolves external entities either. The text, not the bytes, is parsed, so a declared encoding cannot
smuggle a DOCTYPE past the check.

**Flow HTTP callouts** (an HTTP Callout action on a Named Credential whose External Credential adds
the secret as an `X-Referrals-Secret` header) POST JSON:
`{"event_id"?, "record_id", "object", "stage" | "status", "organization_id"?, "email"?,
"referral_code"?, "amount"?, "currency"?, "occurred_at"?}`; we answer 200 `{"accepted", "ignored"}`.

The connection's milestone names the object, field and value, e.g.
`{"object": "Opportunity", "field": "StageName", "value": "Closed Won"}`; records elsewhere are
ignored (and still acknowledged). Matching, as the matcher tries it: `salesforce:{record Id}` against
the external ids given at signup, then the referral-code field (`code_field` setting), then the email
(`Email`, or the `email_field` setting).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from msgspec import Meta

from referral_engine.domain.identifiers import normalise_code, normalise_email
from referral_engine.domain.json_text import read_json
from referral_engine.domain.models import Connection, Signal, SignalMatch
from referral_engine.domain.money import CURRENCY_PATTERN
from referral_engine.domain.records import Invalid, Record, parse, problems
from referral_engine.domain.webhooks import (
    InboundRequest,
    MalformedWebhook,
    Normalised,
    VendorReply,
    WebhookForbidden,
    WebhookRefused,
    blanks_to_none,
    same,
    state_event_id,
    stripped,
)

SOURCE = "salesforce"
SECRET_PARAMETER = "secret"  # noqa: S105 - the query parameter's name, not a secret
SECRET_HEADER = "x-referrals-secret"  # noqa: S105 - a header name, not a secret
MAX_NOTIFICATIONS = 100  # the WSDL's maxOccurs

SOAP_ENVELOPE = "http://schemas.xmlsoap.org/soap/envelope/"
OUTBOUND = "http://soap.sforce.com/2005/09/outbound"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"

ACK = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    f'<soapenv:Envelope xmlns:soapenv="{SOAP_ENVELOPE}">'
    "<soapenv:Body>"
    f'<notificationsResponse xmlns="{OUTBOUND}"><Ack>true</Ack></notificationsResponse>'
    "</soapenv:Body>"
    "</soapenv:Envelope>"
)
SOAP_CONTENT_TYPE = "text/xml; charset=utf-8"

_RECORD_ID = re.compile(r"^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$")
_ORGANIZATION_ID = re.compile(r"^00D[a-zA-Z0-9]{12}(?:[a-zA-Z0-9]{3})?$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_FORBIDDEN_XML = re.compile(r"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)

# Text is stripped of surrounding whitespace before it is parsed (`stripped`), where noted.
ApiName = Annotated[str, Meta(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,79}$")]  # stripped
OrganizationId = Annotated[str, Meta(pattern=_ORGANIZATION_ID.pattern)]  # stripped
MilestoneValue = Annotated[str, Meta(min_length=1, max_length=255)]  # stripped
EventId = Annotated[str, Meta(min_length=1, max_length=200)]  # stripped
Currency = Annotated[str, Meta(pattern=CURRENCY_PATTERN)]
AwareDatetime = Annotated[datetime, Meta(tz=True)]


def _as_text(value: Any) -> Any:
    """Checkbox values arrive as `true`/`false`: a milestone may name them as JSON booleans."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


class SalesforceMilestone(Record, forbid_unknown_fields=True):
    """The connection's milestone: the record's `field` reaches `value` on an `object`."""

    object: ApiName
    field: ApiName
    value: MilestoneValue

    def is_object(self, name: str | None) -> bool:
        return name is not None and name.casefold() == self.object.casefold()

    def reached_by(self, value: str | None) -> bool:
        """Picklist values are compared without regard to case, as Salesforce keeps them unique."""
        return value is not None and value.strip().casefold() == self.value.casefold()


class SalesforceSettings(Record, forbid_unknown_fields=True):
    organization_id: OrganizationId
    code_field: ApiName | None = None  # e.g. Referral_Code__c, mapped from the lead on conversion
    email_field: ApiName = "Email"  # e.g. a formula field on Opportunity with the contact's email
    currency: Currency | None = None  # the org's currency, when records carry no CurrencyIsoCode

    def same_organization(self, given: str | None) -> bool:
        """Ids are case-sensitive in their 15-character form; the 18-character form only adds a suffix."""
        if given is None or _ORGANIZATION_ID.fullmatch(given) is None:
            return False
        return same(self.organization_id[:15], given[:15])


def parse_milestone(milestone: dict[str, Any]) -> SalesforceMilestone:
    """Raises `Invalid`."""
    fields = {name: _as_text(value) if name == "value" else value for name, value in milestone.items()}
    return parse(SalesforceMilestone, stripped(fields, ("object", "field", "value")))


def parse_settings(settings: dict[str, Any]) -> SalesforceSettings:
    """Raises `Invalid`."""
    return parse(SalesforceSettings, stripped(settings, ("organization_id", "code_field", "email_field")))


@dataclass(frozen=True)
class Notification:
    """One `Notification` of an Outbound Message: its id, the sObject's type and its fields."""

    id: str
    object: str | None
    fields: dict[str, str | None]  # API name -> value as Salesforce wrote it (None when nil)


@dataclass(frozen=True)
class OutboundMessage:
    organization_id: str | None
    action_id: str | None
    notifications: list[Notification]


@dataclass(frozen=True)
class SalesforceRecord:
    """What we need from a record, whichever way it arrived."""

    event_id: str
    object: str | None
    milestone_value: str | None
    record_id: str | None = None
    email: str | None = None
    code: str | None = None
    amount: str | None = None
    currency: str | None = None
    modified_at: str | None = None
    has_data: bool = True


class OutboundMessageBatch(Normalised):
    """What an Outbound Message normalised to: answered with the SOAP Ack rather than JSON."""


class FlowCallout(Record):
    """The JSON body our documented Flow HTTP callout sends (read by `parse_flow_callout`)."""

    event_id: EventId | None = None
    record_id: Annotated[str, Meta(pattern=_RECORD_ID.pattern)]  # stripped
    object: ApiName
    stage: str | None = None  # or `status`
    organization_id: str | None = None
    email: str | None = None
    referral_code: str | None = None  # or `code`
    amount: Decimal | None = None
    currency: Currency | None = None
    occurred_at: AwareDatetime | None = None


def parse_flow_callout(body: bytes) -> FlowCallout:
    """A Flow callout's JSON body, empty text read as absent; MalformedWebhook when it is not one."""
    try:
        fields = read_json(body or b"{}", parse_float=Decimal)
    except ValueError as error:
        raise MalformedWebhook("a Salesforce Flow callout is a JSON object") from error
    if not isinstance(fields, dict):
        raise MalformedWebhook("a Salesforce Flow callout is a JSON object")
    fields = blanks_to_none(stripped(fields, ("event_id", "record_id", "object")))
    for name, alias in (("stage", "status"), ("referral_code", "code")):
        fields[name] = fields[name] if name in fields else fields.get(alias)
    fields["stage"] = _as_text(fields["stage"])
    try:
        return parse(FlowCallout, fields)
    except Invalid as error:
        raise MalformedWebhook(f"not a valid Salesforce Flow callout: {problems(error, 'body')}") from error


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _text(parent: ET.Element, namespace: str, name: str) -> str | None:
    element = parent.find(f"{{{namespace}}}{name}")
    if element is None or element.get(XSI_NIL) == "true":
        return None
    return (element.text or "").strip() or None


def parse_outbound_message(body: bytes) -> OutboundMessage:
    """The notifications of a SOAP Outbound Message; MalformedWebhook when it is not one."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise MalformedWebhook("an Outbound Message is UTF-8 encoded") from error
    if _FORBIDDEN_XML.search(text):
        raise MalformedWebhook("document type and entity declarations are refused")
    try:
        root = ET.fromstring(text)  # noqa: S314 - no DOCTYPE: no entities to expand or fetch
    except ET.ParseError as error:
        raise MalformedWebhook(f"not well-formed XML: {error}") from error
    notifications = root.find(f"{{{SOAP_ENVELOPE}}}Body/{{{OUTBOUND}}}notifications")
    if root.tag != f"{{{SOAP_ENVELOPE}}}Envelope" or notifications is None:
        raise MalformedWebhook("not a SOAP envelope with an Outbound Message `notifications` body")
    elements = notifications.findall(f"{{{OUTBOUND}}}Notification")
    if len(elements) > MAX_NOTIFICATIONS:
        raise MalformedWebhook(f"more than {MAX_NOTIFICATIONS} notifications in one message")
    return OutboundMessage(
        organization_id=_text(notifications, OUTBOUND, "OrganizationId"),
        action_id=_text(notifications, OUTBOUND, "ActionId"),
        notifications=[_notification(element) for element in elements],
    )


def _notification(element: ET.Element) -> Notification:
    notification_id = _text(element, OUTBOUND, "Id")
    if notification_id is None:
        raise MalformedWebhook("a Notification without its Id")
    sobject = element.find(f"{{{OUTBOUND}}}sObject")
    if sobject is None:
        return Notification(notification_id, None, {})
    kind = sobject.get(XSI_TYPE)
    fields = {
        _local(field.tag): None if field.get(XSI_NIL) == "true" else (field.text or "").strip()
        for field in sobject
        if len(field) == 0  # nested elements are not fields
    }
    return Notification(notification_id, kind.rsplit(":", 1)[-1] if kind else None, fields)


def _is_outbound_message(request: InboundRequest) -> bool:
    """Outbound Messages are XML, Flow callouts JSON: the body's first character tells them apart."""
    return request.body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")


def _email(raw: str | None) -> str | None:
    if not raw:
        return None
    try:
        return normalise_email(raw)
    except ValueError:
        return None  # a typo in the CRM must not refuse the whole batch: other fields may match


def _amount(raw: str | None) -> Decimal | None:
    if not raw:
        return None
    try:
        amount = Decimal(raw)
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


def _occurred_at(raw: str | None) -> datetime | None:
    if not raw:
        return None
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _signal(
    record: SalesforceRecord, settings: SalesforceSettings, connection: Connection, request: InboundRequest
) -> Signal:
    amount = _amount(record.amount)
    currency = record.currency or settings.currency
    valid_id = record.record_id is not None and _RECORD_ID.fullmatch(record.record_id) is not None
    return Signal(
        source=SOURCE,
        event_id=record.event_id,
        campaign_id=connection.campaign_id,
        match=SignalMatch(
            external_id=f"{SOURCE}:{record.record_id}" if valid_id else None,
            code=normalise_code(record.code) if record.code else None,
            email=_email(record.email),
        ),
        amount=amount,
        currency=currency if amount is not None and currency and _CURRENCY.fullmatch(currency) else None,
        occurred_at=_occurred_at(record.modified_at),
        received_at=request.received_at,
    )


def record_of_notification(
    notification: Notification, milestone: SalesforceMilestone, settings: SalesforceSettings
) -> SalesforceRecord:
    fields = notification.fields
    return SalesforceRecord(
        event_id=notification.id,  # unique per notification, repeated on redelivery
        object=notification.object,
        milestone_value=fields.get(milestone.field),
        record_id=fields.get("Id"),
        email=fields.get(settings.email_field),
        code=fields.get(settings.code_field) if settings.code_field else None,
        amount=fields.get("Amount"),
        currency=fields.get("CurrencyIsoCode"),
        modified_at=fields.get("LastModifiedDate"),
        has_data=bool(fields),  # a record deleted before delivery arrives empty
    )


def record_of_flow_callout(body: bytes) -> SalesforceRecord:
    call = parse_flow_callout(body)
    if call.stage is None:
        raise MalformedWebhook("pass the value of the record's milestone field as `stage` (or `status`)")
    return SalesforceRecord(
        # Without an event id, the record reaching this stage (with this amount) is the event.
        event_id=call.event_id
        or state_event_id(f"{call.record_id}:{call.stage}"[:160], call.amount, call.currency),
        object=call.object,
        milestone_value=call.stage,
        record_id=call.record_id,
        email=call.email,
        code=call.referral_code,
        amount=None if call.amount is None else str(call.amount),
        currency=call.currency,
        modified_at=None if call.occurred_at is None else call.occurred_at.isoformat(),
    )


class SalesforceAdapter:
    source = SOURCE
    vendor_issues_secret = False

    # ------------------------------------------------------------------------ connection
    def validate_connection(self, milestone: dict[str, Any], settings: dict[str, Any]) -> None:
        if not milestone:
            raise ValueError(
                'a Salesforce connection needs a milestone: {"object", "field", "value"}, e.g. '
                '{"object": "Opportunity", "field": "StageName", "value": "Closed Won"}'
            )
        try:
            parse_milestone(milestone)
        except Invalid as error:
            raise ValueError(f"invalid salesforce {problems(error, 'milestone')}") from None
        try:
            parse_settings(settings)
        except Invalid as error:
            raise ValueError(
                f"invalid salesforce {problems(error, 'settings')} "
                "(settings: organization_id, code_field?, email_field?, currency?)"
            ) from None

    # ------------------------------------------------------------------------ verification
    def verify(self, request: InboundRequest, secret: str, connection: Connection) -> None:
        settings = parse_settings(connection.settings)
        if _is_outbound_message(request):
            if not same(secret, request.query.get(SECRET_PARAMETER)):
                raise WebhookRefused(
                    f"the endpoint URL's `{SECRET_PARAMETER}` parameter is not this connection's secret"
                )
            given = parse_outbound_message(request.body).organization_id
        else:
            header = request.header(SECRET_HEADER)
            if header is None:
                scheme, _, token = (request.header("authorization") or "").partition(" ")
                header = token if scheme.lower() == "bearer" else None
            if not same(secret, header):
                raise WebhookRefused(f"the {SECRET_HEADER} header does not carry this connection's secret")
            given = self._flow_organization(request)
            if given is None:
                return  # optional in a Flow callout: the secret header is the proof
        if not settings.same_organization(given):
            raise WebhookForbidden("the call comes from another Salesforce organization")

    @staticmethod
    def _flow_organization(request: InboundRequest) -> str | None:
        try:
            body = read_json(request.body or b"{}")
        except ValueError:
            return None  # normalise says what is wrong with it
        value = body.get("organization_id") if isinstance(body, dict) else None
        return value if isinstance(value, str) and value.strip() else None

    # ------------------------------------------------------------------------ normalisation
    def normalise(self, request: InboundRequest, connection: Connection) -> Normalised:
        milestone = parse_milestone(connection.milestone)
        settings = parse_settings(connection.settings)
        if _is_outbound_message(request):
            message = parse_outbound_message(request.body)
            records = [record_of_notification(n, milestone, settings) for n in message.notifications]
            return OutboundMessageBatch(*self._signals(records, milestone, settings, connection, request))
        record = record_of_flow_callout(request.body)
        return Normalised(*self._signals([record], milestone, settings, connection, request))

    @staticmethod
    def _signals(
        records: list[SalesforceRecord],
        milestone: SalesforceMilestone,
        settings: SalesforceSettings,
        connection: Connection,
        request: InboundRequest,
    ) -> tuple[list[Signal], list[str]]:
        signals: list[Signal] = []
        ignored: list[str] = []
        for record in records:
            if not record.has_data:
                ignored.append(f"{record.event_id}: no record data (deleted before delivery?)")
            elif not milestone.is_object(record.object):
                ignored.append(f"{record.event_id}: a {record.object or 'record'}, not a {milestone.object}")
            elif not milestone.reached_by(record.milestone_value):
                ignored.append(f"{record.event_id}: {milestone.field} is not {milestone.value!r}")
            else:
                signals.append(_signal(record, settings, connection, request))
        return signals, ignored

    # ------------------------------------------------------------------------ answer
    def reply(self, normalised: Normalised) -> VendorReply:
        if isinstance(normalised, OutboundMessageBatch):
            return VendorReply(200, ACK, SOAP_CONTENT_TYPE)
        return VendorReply(
            200, json.dumps({"accepted": len(normalised.signals), "ignored": len(normalised.ignored)})
        )


__all__ = ["SalesforceAdapter", "parse_outbound_message", "record_of_flow_callout"]
