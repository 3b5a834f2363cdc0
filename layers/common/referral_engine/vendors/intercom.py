"""Intercom: the Developer Hub's webhook notifications (`type: "notification_event"`), signed with the
app's client secret.

- **Signature**: `X-Hub-Signature: sha1=<hex>`, HMAC-SHA1 of the raw body keyed with the app's client
  secret (Developer Hub → the app → Basic info). Anything else (missing, another algorithm, wrong) is
  refused before the body is read.
- **Replays**: Intercom sends no timestamp header. A notification's `id` (`notif_…`) is the dedupe
  key (signals are kept 35 days), and the signed `created_at` must be younger than `max_age_hours`
  (default 24): Intercom retries a failed notification once, a minute later, and holds throttled (429)
  ones for up to two hours before dropping them, so no legitimate delivery is ever that old, while a
  captured notification replayed after its signal has expired is refused.
- **Milestones**: a tag added to a contact (`{"tag": "customer"}`, topics `contact.user.tag.created`
  and `contact.lead.tag.created`), or a contact attribute holding a value (`{"attribute":
  "custom_attributes.plan", "value": "paid"}`, `{"attribute": "role", "value": "user"}`; any topic
  whose item is a contact, e.g. `contact.user.updated`, `contact.lead.signed_up`). Every other
  notification, `ping` included, is acknowledged (200) and stores nothing.
- **Matching**: `intercom:{contact id}` against the signup's `external_ids` (or, with the setting
  `"match_on": "external_id"`, `intercom:{the contact's external_id}`, i.e. your own user id), then a
  referral code held in a custom attribute (`"code_attribute"`), then the contact's email.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from referral_engine.domain.identifiers import normalise_code, normalise_email
from referral_engine.domain.json_text import read_json
from referral_engine.domain.models import Connection, Signal, SignalKind, SignalMatch
from referral_engine.domain.records import Invalid, Record, decode, parse, problems
from referral_engine.domain.webhooks import (
    InboundRequest,
    MalformedWebhook,
    Normalised,
    StaleWebhook,
    VendorReply,
    WebhookRefused,
    same,
    stripped,
)

SOURCE = "intercom"
SIGNATURE_HEADER = "x-hub-signature"
TAG_TOPICS = frozenset({"contact.user.tag.created", "contact.lead.tag.created"})
CUSTOM = "custom_attributes."
LOCATION = "location."
# The Contact model's scalar attributes a milestone can name (besides custom_attributes.<name>).
STANDARD_ATTRIBUTES = frozenset(
    {
        "role",
        "name",
        "email_domain",
        "owner_id",
        "language_override",
        "browser_language",
        "has_hard_bounced",
        "marked_email_as_spam",
        "unsubscribed_from_emails",
        "unsubscribed_from_sms",
        "sms_consent",
        "location.country",
        "location.country_code",
        "location.region",
        "location.city",
        "location.continent_code",
    }
)

Scalar = str | bool | int | float  # parsed strictly: "1" stays text, and 1 is not True
_MISSING = object()
NEEDS_A_MILESTONE = (
    'an intercom connection needs a milestone: {"tag": "<tag name>"} or '
    '{"attribute": "custom_attributes.<name>" | "<standard attribute>", "value": <value>}'
)


def _is_custom(path: str) -> bool:
    return path.startswith(CUSTOM) and bool(path.removeprefix(CUSTOM).strip())


class TagMilestone(Record, forbid_unknown_fields=True):
    tag: Annotated[str, Meta(min_length=1, max_length=190)]  # stripped


class AttributeMilestone(Record, forbid_unknown_fields=True):
    attribute: str  # stripped
    value: Scalar | Annotated[list[Scalar], Meta(min_length=1, max_length=20)]

    def __post_init__(self) -> None:
        if not _is_custom(self.attribute) and self.attribute not in STANDARD_ATTRIBUTES:
            raise ValueError(
                "`attribute` must be custom_attributes.<name> or one of "
                f"{', '.join(sorted(STANDARD_ATTRIBUTES))}"
            )

    def accepts(self, actual: object) -> bool:
        wanted = self.value if isinstance(self.value, list) else [self.value]
        return any(_same_value(actual, one) for one in wanted)


class IntercomSettings(Record, forbid_unknown_fields=True):
    match_on: Annotated[str, Meta(pattern=r"^(contact_id|external_id)$")] = "contact_id"
    code_attribute: str | None = None  # "custom_attributes.referral_code": the friend's own code
    workspace_id: Annotated[str, Meta(min_length=1)] | None = None  # stripped
    max_age_hours: Annotated[int, Meta(ge=1, le=720)] = 24

    def __post_init__(self) -> None:
        if self.code_attribute is not None and not _is_custom(self.code_attribute):
            raise ValueError("`code_attribute` must be custom_attributes.<name>")


class NotificationData(Record):
    item: dict[str, Any]


class Notification(Record):
    """The envelope every Intercom webhook shares (Webhook notification object)."""

    type: Annotated[str, Meta(pattern=r"^notification_event$")]
    id: Annotated[str, Meta(min_length=1, max_length=200)] | None = None  # null on pings
    topic: Annotated[str, Meta(min_length=1)]
    app_id: str | None = None  # the workspace the event happened in
    created_at: int | str | None = None
    data: NotificationData


def _same_value(actual: object, wanted: object) -> bool:
    """JSON equality that keeps booleans and numbers apart (True is not 1) and strings exact."""
    if isinstance(actual, bool) or isinstance(wanted, bool):
        return isinstance(actual, bool) and isinstance(wanted, bool) and actual is wanted
    if isinstance(actual, int | float) and isinstance(wanted, int | float):
        return actual == wanted
    return isinstance(actual, str) and isinstance(wanted, str) and actual == wanted


def _lookup(contact: dict[str, Any], path: str) -> object:
    """A contact's attribute by milestone path; _MISSING when the notification does not carry it."""
    for prefix, container in ((CUSTOM, "custom_attributes"), (LOCATION, "location")):
        if path.startswith(prefix):
            nested = contact.get(container)
            if not isinstance(nested, dict):
                return _MISSING
            return nested.get(path.removeprefix(prefix), _MISSING)
    return contact.get(path, _MISSING)


def _timestamp(value: object) -> datetime | None:
    """Intercom's timestamps are Unix seconds; some payloads carry ISO-8601 strings instead."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str) and value.strip():
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _friendly(error: Invalid, what: str) -> str:
    return f"invalid intercom {problems(error, what)}"


def parse_milestone(milestone: dict[str, Any]) -> TagMilestone | AttributeMilestone:
    if "tag" not in milestone and "attribute" not in milestone:
        raise ValueError(NEEDS_A_MILESTONE)
    model: type[TagMilestone | AttributeMilestone] = (
        TagMilestone if "tag" in milestone else AttributeMilestone
    )
    try:
        # Strict: a milestone's value is compared with the contact's as JSON types (1 is not "1").
        return msgspec.convert(stripped(milestone, ("tag", "attribute")), model, strict=True)
    except Invalid as error:
        raise ValueError(_friendly(error, "milestone")) from None


def parse_settings(settings: dict[str, Any]) -> IntercomSettings:
    try:
        return parse(IntercomSettings, stripped(settings, ("workspace_id",)))
    except Invalid as error:
        raise ValueError(_friendly(error, "settings")) from None


def signature(body: bytes, secret: str) -> str:
    """The X-Hub-Signature header value Intercom sends for this body."""
    return "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()


class IntercomAdapter:
    source = SOURCE
    vendor_issues_secret = True

    def validate_connection(self, milestone: dict[str, Any], settings: dict[str, Any]) -> None:
        parse_milestone(milestone)
        parse_settings(settings)

    def verify(self, request: InboundRequest, secret: str, connection: Connection) -> None:
        given = (request.header(SIGNATURE_HEADER) or "").strip()
        if not given:
            raise WebhookRefused(f"the {SIGNATURE_HEADER} header is missing")
        scheme, _, digest = given.partition("=")
        if scheme.strip().lower() != "sha1":
            raise WebhookRefused(f"the {SIGNATURE_HEADER} header must be sha1=<hex>")
        if not same(signature(request.body, secret), f"sha1={digest.strip().lower()}"):
            raise WebhookRefused("the signature does not match this connection's client secret")
        self._check_fresh(request, connection)

    def normalise(self, request: InboundRequest, connection: Connection) -> Normalised:
        notification = _parse(request.body)
        if notification.topic == "ping":
            return Normalised([], ["ping"])
        settings = _settings_of(connection)
        if settings.workspace_id is not None and notification.app_id != settings.workspace_id:
            # One webhook URL per Intercom app receives every workspace the app is installed in.
            return Normalised([], [f"workspace {notification.app_id} is not this connection's"])
        if notification.id is None:
            raise MalformedWebhook("the notification has no id")
        reached, why, contact, happened = _evaluate(
            _milestone_of(connection), notification.topic, notification.data.item
        )
        if not reached or contact is None:
            return Normalised([], [why])
        signal = Signal(
            source=self.source,
            event_id=notification.id,
            campaign_id=connection.campaign_id,
            kind=SignalKind.QUALIFY,
            match=_match(contact, settings),
            occurred_at=happened or _timestamp(notification.created_at),
            received_at=request.received_at,
        )
        return Normalised([signal])

    def reply(self, normalised: Normalised) -> VendorReply:
        return VendorReply(
            200, json.dumps({"accepted": len(normalised.signals), "ignored": len(normalised.ignored)})
        )

    @staticmethod
    def _check_fresh(request: InboundRequest, connection: Connection) -> None:
        try:
            created = _timestamp(read_json(request.body).get("created_at"))
        except (ValueError, AttributeError):
            return  # unreadable: normalise refuses it as malformed
        if created is None:
            return
        max_age = timedelta(hours=_settings_of(connection).max_age_hours)
        if request.received_at - created > max_age:
            raise StaleWebhook(f"the notification was created more than {max_age} ago")


def _parse(body: bytes) -> Notification:
    try:
        return decode(Notification, body or b"{}")
    except Invalid as error:
        raise MalformedWebhook(f"not an Intercom notification: {problems(error, 'body')}") from error


def _settings_of(connection: Connection) -> IntercomSettings:
    try:
        return parse_settings(connection.settings)
    except ValueError as error:  # validated when the connection was created
        raise MalformedWebhook(str(error)) from error


def _milestone_of(connection: Connection) -> TagMilestone | AttributeMilestone:
    try:
        return parse_milestone(connection.milestone)
    except ValueError as error:
        raise MalformedWebhook(str(error)) from error


def _contact_of(item: dict[str, Any]) -> dict[str, Any] | None:
    if item.get("type") == "contact":
        return item
    nested = item.get("contact")
    return nested if isinstance(nested, dict) and nested.get("type", "contact") == "contact" else None


def _evaluate(
    milestone: TagMilestone | AttributeMilestone, topic: str, item: dict[str, Any]
) -> tuple[bool, str, dict[str, Any] | None, datetime | None]:
    """(reached, why, the contact, when it happened) for one notification's item."""
    contact = _contact_of(item)
    if isinstance(milestone, TagMilestone):
        if topic not in TAG_TOPICS:
            return False, f"{topic} is not a contact being tagged", None, None
        tag = item.get("tag")
        name = tag.get("name") if isinstance(tag, dict) else None
        if not isinstance(name, str) or name.strip().casefold() != milestone.tag.casefold():
            return False, "the tag added is not the milestone's", None, None
        if contact is None:
            raise MalformedWebhook(f"{topic} carries no contact")
        return True, "milestone reached", contact, _timestamp(item.get("created_at"))
    if contact is None:
        return False, f"{topic} does not carry a contact", None, None
    value = _lookup(contact, milestone.attribute)
    if value is _MISSING:
        return False, f"{milestone.attribute} is not in the notification", None, None
    if not milestone.accepts(value):
        return False, f"{milestone.attribute} does not hold the milestone's value", None, None
    return True, "milestone reached", contact, None


def _match(contact: dict[str, Any], settings: IntercomSettings) -> SignalMatch:
    key = "id" if settings.match_on == "contact_id" else "external_id"
    vendor_id = contact.get(key)
    external_id = f"{SOURCE}:{vendor_id}" if isinstance(vendor_id, str | int) and str(vendor_id) else None
    code = None
    if settings.code_attribute is not None:
        raw = _lookup(contact, settings.code_attribute)
        code = normalise_code(raw) if isinstance(raw, str) else None
    email = None
    if isinstance(contact.get("email"), str):
        try:
            email = normalise_email(contact["email"])
        except ValueError:
            email = None
    match = SignalMatch(external_id=external_id, code=code, email=email)
    if match.is_empty():
        raise MalformedWebhook(f"the contact carries no {key}, referral code or email to match on")
    return match


__all__ = ["IntercomAdapter", "signature"]
