"""HubSpot: app webhook batches and the workflow "Send a webhook" action, on one connection.

The connection's secret is the client secret of the HubSpot app (a public or private app) that signs
the calls. Two payloads arrive at the same URL:

- **App webhooks** (Webhooks API subscriptions): a JSON array of events, up to 100 per call, e.g.
  ``{"objectId": 1246965, "propertyName": "lifecyclestage", "propertyValue": "customer",
  "subscriptionType": "contact.propertyChange", "portalId": 33, "subscriptionId": 25,
  "eventId": 3816279340, "occurredAt": 1462216307945, "attemptNumber": 0}`` (older payloads say
  ``eventType``; the developer platform's generic ``object.propertyChange`` names the object by
  ``objectTypeId``). Only a property change of the milestone's object and property to one of its
  values is a signal; anything else in the batch is ignored. HubSpot's ``eventId`` is not unique, so
  the signal's event id is portal + subscription + event id + occurredAt (a retry repeats all four).
- **Workflow "Send a webhook" action**: a JSON object describing the enrolled record, either all its
  properties (the legacy object API shape: ``{"vid": 51, "properties": {"email": {"value": ...}}}``
  for contacts, ``{"dealId": 17, "properties": {"dealstage": {"value": ...}}}`` for deals), the CRM
  v3 shape (``{"id": "17", "properties": {"dealstage": "closedwon"}}``) or a customised flat body
  (``{"hs_object_id": "17", "dealstage": "closedwon", "email": ...}``). The body must carry the
  milestone's property; a value other than the milestone's is ignored. There is no event id: the
  record, property and value make one (the milestone is reached once; retries and re-enrolments
  dedupe).

Signatures (https://developers.hubspot.com/docs/api/webhooks/validating-requests and, for apps on the
developer platform, .../docs/apps/developer-platform/build-apps/authentication/request-validation):
- v3: ``X-HubSpot-Signature-v3`` = base64(HMAC-SHA256(client secret, method + URI + body + timestamp))
  with ``X-HubSpot-Request-Timestamp`` in milliseconds, refused when more than 5 minutes off our clock;
  the URI has the percent-escapes HubSpot lists decoded before signing (``%3A`` → ``:`` …).
- v2 (``X-HubSpot-Signature-Version: v2``): ``X-HubSpot-Signature`` = hex(SHA-256(client secret +
  method + URI + body)), the URI exactly as called.
- v1 (``X-HubSpot-Signature-Version: v1``): hex(SHA-256(client secret + body)).
When the v3 header is present it alone decides (no falling back to the replayable v1/v2);
``settings.require_v3`` refuses v1/v2 altogether.

Undone milestones (``settings.reverse_when_undone``, docs/adr/0021): HubSpot's property-change events
carry only the new value (``propertyValue``; https://developers.hubspot.com/docs/api/webhooks, "Webhook
payloads"), never the previous one. With the setting, a change of the milestone's property to a value
*not* among the milestone's values (a deal moved from ``closedwon`` to ``closedlost``) is a reversal
signal. It applies only to a referral that reached the milestone (qualified or rewarded): on a pending
one it is an audit note, never held, so a deal moving between early stages reverses nothing. A
milestone whose property moves on to later values that still count (a contact's lifecycle stage going
from ``customer`` to ``evangelist``) lists them all in its ``value``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from referral_engine.domain.identifiers import fingerprint, normalise_code, normalise_email, sha256_hex
from referral_engine.domain.json_text import read_json
from referral_engine.domain.models import Connection, Signal, SignalKind, SignalMatch
from referral_engine.domain.records import Invalid, Record, parse, problems
from referral_engine.domain.webhooks import (
    InboundRequest,
    MalformedWebhook,
    Normalised,
    StaleWebhook,
    VendorReply,
    WebhookRefused,
    same,
    state_event_id,
)

SOURCE = "hubspot"
SIGNATURE_V3_HEADER = "x-hubspot-signature-v3"
TIMESTAMP_HEADER = "x-hubspot-request-timestamp"
SIGNATURE_HEADER = "x-hubspot-signature"
VERSION_HEADER = "x-hubspot-signature-version"
MAX_AGE = timedelta(minutes=5)

# HubSpot decodes these escapes in the URI before it signs (v3); every other escape stays as it is.
_DECODED = {
    "%3A": ":",
    "%2F": "/",
    "%3F": "?",
    "%40": "@",
    "%21": "!",
    "%24": "$",
    "%27": "'",
    "%28": "(",
    "%29": ")",
    "%2A": "*",
    "%2C": ",",
    "%3B": ";",
}
_ESCAPE = re.compile("|".join(_DECODED), re.IGNORECASE)
# The developer platform's `object.*` events name the object by type id.
_OBJECT_TYPE_IDS = {"0-1": "contact", "0-3": "deal"}
# The signup's `external_ids` key per object: contacts and deals have separate id spaces, so a deal id
# must never be looked up among contact ids (deal 1234 is not contact 1234).
EXTERNAL_ID_KEYS = {"contact": SOURCE, "deal": f"{SOURCE}_deal"}


def external_id(object_name: str, record_id: str) -> str:
    return f"{EXTERNAL_ID_KEYS[object_name]}:{record_id}"


# Where a workflow body names its record: the v3 property, then the legacy and v3 envelopes.
_RECORD_ID_KEYS = ("hs_object_id", "objectId", "canonical-vid", "vid", "dealId", "id")
_DIGITS = re.compile(r"^[0-9]{1,30}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")

PropertyName = Annotated[str, Meta(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,99}$")]
PropertyValue = Annotated[str, Meta(min_length=1, max_length=200)]  # stripped before it is parsed


class HubSpotMilestone(Record, forbid_unknown_fields=True):
    """A property of a contact or deal reaching a value (or one of several values)."""

    object: Annotated[str, Meta(pattern=r"^(contact|deal)$")]
    property_name: PropertyName = msgspec.field(name="property")
    value: PropertyValue | Annotated[list[PropertyValue], Meta(min_length=1, max_length=50)]

    @property
    def values(self) -> frozenset[str]:
        return frozenset([self.value] if isinstance(self.value, str) else self.value)

    def is_property(self, name: str) -> bool:
        return name.casefold() == self.property_name.casefold()


class HubSpotSettings(Record, forbid_unknown_fields=True):
    portal_id: Annotated[int, Meta(gt=0)] | None = None  # events from other HubSpot accounts are ignored
    require_v3: bool = False  # refuse v1/v2 signatures, which carry no timestamp
    code_property: PropertyName = "referral_code"  # a workflow body's field holding the referral code
    reverse_when_undone: bool = False  # the milestone's property moving off its values reverses


def parse_milestone(milestone: Mapping[str, Any]) -> HubSpotMilestone:
    """Raises `Invalid`. Stage ids of custom pipelines are digits: `"value": 148721392` means the same
    as `"148721392"`; values are compared without their surrounding whitespace."""
    fields = dict(milestone)
    value = fields.get("value")
    if value is not None:
        fields["value"] = (
            [_value_text(one) for one in value] if isinstance(value, list) else _value_text(value)
        )
    return parse(HubSpotMilestone, fields)


def _value_text(value: Any) -> Any:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return str(value)
    return value


def _id_text(value: Any) -> Any:
    """HubSpot ids arrive as JSON numbers (app webhooks) or strings (CRM v3); we keep the digits."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value >= 0:
        return str(value)
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        return value.strip()
    return value


HubSpotId = Annotated[str, Meta(pattern=r"^[0-9]{1,30}$")]  # numbers made text before parsing
_ID_FIELDS = ("objectId", "portalId", "subscriptionId", "eventId")
EpochMillis = Annotated[int, Meta(ge=0, lt=10**14)]


class AppEvent(Record):
    """One event of an app webhook batch: the fields we read (HubSpot's names as aliases)."""

    subscription_type: str | None = msgspec.field(default=None, name="subscriptionType")
    event_type: str | None = msgspec.field(default=None, name="eventType")  # subscriptionType's old name
    object_type_id: str | None = msgspec.field(default=None, name="objectTypeId")
    object_id: HubSpotId = msgspec.field(name="objectId")
    property_name: str | None = msgspec.field(default=None, name="propertyName")
    property_value: str | None = msgspec.field(default=None, name="propertyValue")
    portal_id: HubSpotId = msgspec.field(name="portalId")
    subscription_id: HubSpotId = msgspec.field(name="subscriptionId")
    event_id: HubSpotId = msgspec.field(name="eventId")
    occurred_at: EpochMillis = msgspec.field(name="occurredAt")

    @property
    def kind(self) -> str | None:
        return self.subscription_type or self.event_type

    @property
    def object_name(self) -> str | None:
        """contact, deal, …; None when the event is not a property change."""
        kind = self.kind or ""
        if kind == "object.propertyChange":
            return _OBJECT_TYPE_IDS.get(self.object_type_id or "", self.object_type_id)
        name, _, change = kind.partition(".")
        return name if change == "propertyChange" else None

    @property
    def dedupe_id(self) -> str:
        """HubSpot's eventId alone is not unique; with the portal, subscription and time it is."""
        return f"{self.portal_id}-{self.subscription_id}-{self.event_id}-{self.occurred_at}"


def parse_event(raw: Any) -> AppEvent:
    """An app webhook event, its ids as text and its property value as text (None for an object)."""
    if not isinstance(raw, dict):
        return parse(AppEvent, raw)  # refused, with the reason
    fields = {**raw, **{name: _id_text(raw[name]) for name in _ID_FIELDS if name in raw}}
    if raw.get("propertyValue") is not None:
        fields["propertyValue"] = _text(raw["propertyValue"])
    return parse(AppEvent, fields)


def signed_uri(url: str) -> str:
    """The URI as HubSpot signs it for v3: the listed escapes decoded, any other left alone."""
    return _ESCAPE.sub(lambda escape: _DECODED[escape.group(0).upper()], url)


def _text(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return None


def _millis(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value) / 1000, UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _settings(connection: Connection) -> HubSpotSettings:
    return parse(HubSpotSettings, connection.settings)


class HubSpotAdapter:
    source = SOURCE
    vendor_issues_secret = True

    def validate_connection(self, milestone: dict[str, Any], settings: dict[str, Any]) -> None:
        if not milestone:
            raise ValueError(
                'a hubspot connection needs a milestone: {"object": "contact" or "deal", '
                '"property": "<internal property name>", "value": "<value>"}'
            )
        try:
            parse_milestone(milestone)
        except Invalid as error:
            raise ValueError(f"invalid hubspot {problems(error, 'milestone')}") from None
        try:
            parse(HubSpotSettings, settings)
        except Invalid as error:
            raise ValueError(f"invalid hubspot {problems(error, 'settings')}") from None

    # ------------------------------------------------------------------------------ verification
    def verify(self, request: InboundRequest, secret: str, connection: Connection) -> None:
        v3 = request.header(SIGNATURE_V3_HEADER)
        if v3 is not None:
            self._verify_v3(request, secret, v3)
            return
        if _settings(connection).require_v3:
            raise WebhookRefused(f"this connection accepts only signed v3 calls ({SIGNATURE_V3_HEADER})")
        given = request.header(SIGNATURE_HEADER)
        version = (request.header(VERSION_HEADER) or "").strip().lower()
        if given is None:
            raise WebhookRefused("the call carries no HubSpot signature")
        if version == "v1":
            source = secret.encode() + request.body
        elif version == "v2":
            source = secret.encode() + request.method.upper().encode() + request.url.encode() + request.body
        else:
            raise WebhookRefused(f"unsupported {VERSION_HEADER}: {version or 'missing'}")
        if not same(hashlib.sha256(source).hexdigest(), given.strip().lower()):
            raise WebhookRefused(f"the HubSpot {version} signature does not match")

    @staticmethod
    def _verify_v3(request: InboundRequest, secret: str, given: str) -> None:
        timestamp = (request.header(TIMESTAMP_HEADER) or "").strip()
        sent = _millis(timestamp) if _DIGITS.fullmatch(timestamp) else None
        if sent is None:
            raise WebhookRefused(f"a v3 signature needs {TIMESTAMP_HEADER} in milliseconds")
        source = (
            request.method.upper().encode()
            + signed_uri(request.url).encode()
            + request.body
            + timestamp.encode()
        )
        digest = hmac.new(secret.encode(), source, hashlib.sha256).digest()
        if not same(base64.b64encode(digest), given.strip()):
            raise WebhookRefused("the HubSpot v3 signature does not match")
        if abs(request.received_at - sent) > MAX_AGE:
            raise StaleWebhook("the HubSpot request timestamp is more than 5 minutes off")

    # ---------------------------------------------------------------------------- normalisation
    def normalise(self, request: InboundRequest, connection: Connection) -> Normalised:
        try:
            payload = read_json(request.body)
        except ValueError as error:
            raise MalformedWebhook(f"not JSON: {error}") from None
        milestone, settings = parse_milestone(connection.milestone), _settings(connection)
        if isinstance(payload, list):
            return self._app_events(payload, request, connection, milestone, settings)
        if isinstance(payload, dict):
            return self._workflow_action(payload, request, connection, milestone, settings)
        raise MalformedWebhook("expected a JSON array of events (app webhooks) or an object (workflow)")

    def _app_events(
        self,
        payload: list[Any],
        request: InboundRequest,
        connection: Connection,
        milestone: HubSpotMilestone,
        settings: HubSpotSettings,
    ) -> Normalised:
        signals: list[Signal] = []
        ignored: list[str] = []
        for index, raw in enumerate(payload):
            try:
                event = parse_event(raw)
            except Invalid as error:
                ignored.append(f"event {index}: not a HubSpot webhook event ({problems(error, 'event')})")
                continue
            reason = self._why_not(event, milestone, settings)
            undone = reason is None and event.property_value not in milestone.values
            if undone and not settings.reverse_when_undone:
                reason = f"{milestone.property_name} changed to a value that is not the milestone's"
            if reason is not None:
                ignored.append(f"event {index}: {reason}")
                continue
            signals.append(
                Signal(
                    source=SOURCE,
                    event_id=event.dedupe_id,
                    campaign_id=connection.campaign_id,
                    kind=SignalKind.REVERSE if undone else SignalKind.QUALIFY,
                    match=SignalMatch(external_id=external_id(milestone.object, event.object_id)),
                    occurred_at=_millis(event.occurred_at),
                    received_at=request.received_at,
                    reason=_undone_reason(milestone, event.object_id, event.property_value)
                    if undone
                    else None,
                )
            )
        return Normalised(signals, ignored)

    @staticmethod
    def _why_not(event: AppEvent, milestone: HubSpotMilestone, settings: HubSpotSettings) -> str | None:
        """Why this event does not reach the milestone, or None when it does."""
        if settings.portal_id is not None and event.portal_id != str(settings.portal_id):
            return f"portal {event.portal_id} is not this connection's portal"
        if event.object_name is None:
            return f"{event.kind or 'an event without a type'} is not a property change"
        if event.object_name != milestone.object:
            return f"a {event.object_name} changed; the milestone is about a {milestone.object}"
        if event.property_name is None or not milestone.is_property(event.property_name):
            return f"{event.property_name or 'a property'} is not the milestone's property"
        return None

    def _workflow_action(
        self,
        payload: dict[str, Any],
        request: InboundRequest,
        connection: Connection,
        milestone: HubSpotMilestone,
        settings: HubSpotSettings,
    ) -> Normalised:
        raw = _record_properties(payload)
        properties = {name: _text(_value_of(value)) for name, value in raw.items()}
        name = next((key for key in properties if milestone.is_property(key)), None)
        value = properties.get(name) if name is not None else None
        if name is None or value is None:
            property_name = milestone.property_name
            raise MalformedWebhook(f"the workflow's request body lacks the milestone's {property_name}")
        portal = _text(payload.get("portal-id", payload.get("portalId")))
        if settings.portal_id is not None and portal is not None and portal != str(settings.portal_id):
            return Normalised([], [f"portal {portal} is not this connection's portal"])
        undone = value.strip() not in milestone.values
        if undone and not settings.reverse_when_undone:
            return Normalised([], [f"{milestone.property_name} is not at a milestone value"])
        match, record = _workflow_match(properties, settings, milestone.object)
        amount, currency = _amount(properties)
        at_value = sha256_hex(f"{milestone.property_name}={value.strip()}")[:16]
        reached = f"workflow-{milestone.object}-{record}-{at_value}"
        signal = Signal(
            source=SOURCE,
            event_id=f"{reached}-undone" if undone else state_event_id(reached, amount, currency),
            campaign_id=connection.campaign_id,
            kind=SignalKind.REVERSE if undone else SignalKind.QUALIFY,
            reason=_undone_reason(milestone, record, value.strip()) if undone else None,
            match=match,
            amount=amount,
            currency=currency,
            occurred_at=_changed_at(raw[name]),
            received_at=request.received_at,
        )
        return Normalised([signal])

    def reply(self, normalised: Normalised) -> VendorReply:
        """HubSpot retries only on 5xx/429 (and timeouts); any 2xx ends the delivery."""
        return VendorReply(
            200, json.dumps({"accepted": len(normalised.signals), "ignored": len(normalised.ignored)})
        )


def _undone_reason(milestone: HubSpotMilestone, record: str, value: str | None) -> str:
    reached = ", ".join(sorted(milestone.values))
    return (
        f"HubSpot {milestone.object} {record}: {milestone.property_name} moved to {value}, off the "
        f"milestone ({reached})"
    )


def _record_properties(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A workflow body's fields and properties by name: the top level, overridden by `properties`."""
    merged = {key: value for key, value in payload.items() if key != "properties"}
    nested = payload.get("properties")
    if isinstance(nested, Mapping):
        merged.update(nested)
    return merged


def _value_of(value: Any) -> Any:
    """A legacy property is {"value": ..., "versions": [...]}; the v3 and flat shapes are the value."""
    return value.get("value") if isinstance(value, Mapping) else value


def _changed_at(value: Any) -> datetime | None:
    """When a legacy property got its value: its timestamp, or its newest version's."""
    if not isinstance(value, Mapping):
        return None
    stamp = value.get("timestamp")
    versions = value.get("versions")
    if stamp is None and isinstance(versions, list) and versions and isinstance(versions[0], Mapping):
        stamp = versions[0].get("timestamp")
    return _millis(stamp) if stamp is not None else None


def _workflow_match(
    properties: Mapping[str, str | None], settings: HubSpotSettings, object_name: str
) -> tuple[SignalMatch, str]:
    """How the referral is found (record id, referral code, email) and the record's key for the event id."""
    record_id = next(
        (
            properties[key]
            for key in _RECORD_ID_KEYS
            if _DIGITS.fullmatch((properties.get(key) or "").strip())
        ),
        None,
    )
    raw_code = properties.get(settings.code_property)
    code = normalise_code(raw_code) if raw_code else None
    email: str | None = None
    if properties.get("email"):
        try:
            email = normalise_email(properties["email"] or "")
        except ValueError:
            email = None
    match = SignalMatch(
        external_id=external_id(object_name, record_id.strip()) if record_id else None,
        code=code,
        email=email,
    )
    if match.is_empty():
        raise MalformedWebhook(
            "the workflow's request body names no record: include hs_object_id, "
            f"{settings.code_property} or email"
        )
    if record_id:
        return match, record_id.strip()
    return match, f"code-{code}" if code else f"email-{fingerprint(email or '')}"


def _amount(properties: Mapping[str, str | None]) -> tuple[Decimal | None, str | None]:
    """A deal's amount and currency when the body carries them, for a campaign's minimum amount."""
    currency = (properties.get("deal_currency_code") or "").strip().upper() or None
    currency = currency if currency and _CURRENCY.fullmatch(currency) else None
    try:
        amount = Decimal((properties.get("amount") or "").strip())
    except InvalidOperation:
        return None, currency
    if not amount.is_finite() or amount <= 0:
        return None, currency
    return amount, currency


__all__ = ["HubSpotAdapter", "HubSpotMilestone", "HubSpotSettings", "signed_uri"]
