"""Vendor webhooks: the raw request as it arrived, what a vendor adapter must do, and how it fails.

Adapters are pure: they verify signatures over the exact raw bytes with the connection's secret,
map the vendor's payload to our signals, and say what the vendor expects as an answer. No I/O.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from referral_engine.domain.errors import DomainError
from referral_engine.domain.models import Connection, Signal


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

    def validate_connection(self, milestone: dict[str, Any], settings: dict[str, Any]) -> None:
        """Raises ValueError when the milestone rule or settings make no sense for this source."""

    def verify(self, request: InboundRequest, secret: str, connection: Connection) -> None:
        """Raises WebhookRefused / StaleWebhook / WebhookForbidden unless the call is authentic."""

    def normalise(self, request: InboundRequest, connection: Connection) -> Normalised:
        """The signals in the (verified) call; events that do not reach the milestone are ignored."""

    def reply(self, normalised: Normalised) -> VendorReply:
        """What the vendor expects once the signals are durably stored."""


def same(expected: str | bytes, given: str | bytes | None) -> bool:
    """Constant-time comparison of secrets and signatures."""
    if given is None:
        return False
    left = expected.encode() if isinstance(expected, str) else expected
    right = given.encode() if isinstance(given, str) else given
    return hmac.compare_digest(left, right)
