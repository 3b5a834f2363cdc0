"""Vendor webhooks: the raw request as it arrived, what a vendor adapter must do, and how it fails.

Adapters are pure: they verify signatures over the exact raw bytes with the connection's secret,
map the vendor's payload to our signals, and say what the vendor expects as an answer. No I/O.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from referral_engine.domain.errors import DomainError
from referral_engine.domain.models import MAX_EVENT_ID, Connection, Signal


class WebhookRefused(DomainError):
    """The call does not prove it comes from the vendor: 401, nothing written."""

    code = "signature_invalid"


class StaleWebhook(WebhookRefused):
    code = "stale_timestamp"


class WebhookForbidden(DomainError):
    """Authentic, but not for this connection (e.g. another Salesforce org): 403, nothing written."""

    code = "forbidden"


class MalformedWebhook(DomainError):
    """Authentic but unreadable: 400 (vendors do not retry 4xx, and retrying would not help)."""

    code = "malformed_payload"


@dataclass(frozen=True)
class InboundRequest:
    method: str
    url: str  # the full URL the vendor called, scheme and host included
    headers: Mapping[str, str]  # names lower-cased, as API Gateway delivers them
    query: Mapping[str, str]
    body: bytes  # exactly as sent (base64-decoded when API Gateway had encoded it)
    received_at: datetime

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(frozen=True)
class VendorReply:
    status: int = 200
    body: str = '{"ok": true}'
    content_type: str = "application/json"


@dataclass(frozen=True)
class Normalised:
    signals: list[Signal]
    ignored: list[str] = field(default_factory=list)  # why events in the call were not signals


class VendorAdapter(Protocol):
    source: str
    # True when the vendor makes the secret (Stripe's signing secret, a HubSpot app's client secret)
    # and a connection must be given it; else we generate one for the user to paste into the vendor.
    vendor_issues_secret: bool

    def validate_connection(self, milestone: dict[str, Any], settings: dict[str, Any]) -> None:
        """Raises ValueError when the milestone rule or settings make no sense for this source."""

    def verify(self, request: InboundRequest, secret: str, connection: Connection) -> None:
        """Raises WebhookRefused / StaleWebhook / WebhookForbidden unless the call is authentic."""

    def normalise(self, request: InboundRequest, connection: Connection) -> Normalised:
        """The signals in the (verified) call; events that do not reach the milestone are ignored."""

    def reply(self, normalised: Normalised) -> VendorReply:
        """What the vendor expects once the signals are durably stored."""


def blanks_to_none(fields: Mapping[str, Any]) -> dict[str, Any]:
    """A body's fields with empty text as None, before it is parsed as a record: tools (Salesforce
    Flow, Make, Zapier) send empty text for a field left empty."""
    return {
        key: None if isinstance(value, str) and not value.strip() else value for key, value in fields.items()
    }


def stripped(fields: Mapping[str, Any], names: Collection[str]) -> dict[str, Any]:
    """`fields` with the text of `names` stripped of surrounding whitespace, before they are parsed."""
    return {
        key: value.strip() if key in names and isinstance(value, str) else value
        for key, value in fields.items()
    }


def state_event_id(reached: str, amount: Decimal | None, currency: str | None) -> str:
    """An event id for a vendor that sends none: the record and the milestone it `reached`, plus the
    amount it reached it with. A redelivery, or an update that changes neither, is a duplicate; a
    corrected amount is a new event, judged again (it may now reach the campaign's minimum).

    The amount is written canonically (1200, 1200.0 and 1200.00 are one amount: a form and a JSON
    webhook, or a v1 and a v2 one, must agree), and digested when the id would be too long."""
    if amount is None:
        return reached
    suffix = f"@{format(amount.normalize(), 'f')}{currency or ''}"
    if len(reached) + len(suffix) > MAX_EVENT_ID:
        suffix = f"@{hashlib.sha256(suffix.encode()).hexdigest()[:16]}"
    return f"{reached[: MAX_EVENT_ID - len(suffix)]}{suffix}"


def same(expected: str | bytes, given: str | bytes | None) -> bool:
    """Constant-time comparison of secrets and signatures."""
    if given is None:
        return False
    left = expected.encode() if isinstance(expected, str) else expected
    right = given.encode() if isinstance(given, str) else given
    return hmac.compare_digest(left, right)
