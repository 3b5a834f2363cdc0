"""Subscriptions to the engine's events (Zapier's "instant" triggers, its REST Hooks): the
subscriptions, the bus event that triggers a delivery, the payload we deliver, and the rules a target
URL must follow so that a subscription cannot turn our functions into a proxy into private networks
(SSRF).

No I/O here: resolving a host name is the caller's, passed in as a function. No pydantic either:
deliver_events loads this module (records.py says why).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, get_args
from urllib.parse import urlsplit

import msgspec

from referral_engine.domain.addresses import embedded_ipv4, is_public, parse_ip
from referral_engine.domain.errors import InvalidRequest
from referral_engine.domain.models import Participant, Referral, ReferralStatus
from referral_engine.domain.records import Record

SubscriptionEvent = Literal["referral.created", "referral.qualified", "referral.reversed"]
SUBSCRIPTION_EVENTS: tuple[SubscriptionEvent, ...] = get_args(SubscriptionEvent)
# The field that says when the referral did what the event announces: on the referral and in the event.
EVENT_TIME: dict[SubscriptionEvent, str] = {
    "referral.created": "joined_at",
    "referral.qualified": "qualified_at",
    "referral.reversed": "reversed_at",
}

DELIVERY_ID_HEADER = "X-Referrals-Delivery-Id"
EVENT_HEADER = "X-Referrals-Event"
MAX_TARGET_URL_LENGTH = 2048

# (host, port) → the addresses the host name resolves to, as text.
Resolver = Callable[[str, int], Sequence[str]]


class TargetRefused(InvalidRequest):
    """A target URL we will not call: wrong scheme, credentials, or a private or loopback address."""

    code = "target_url_refused"


class Subscription(Record):
    """A subscription: POST every `event` (of one campaign, or of all when `campaign_id` is None) to
    `target_url`. `base_url` is the API's public URL when it was subscribed, for share links."""

    id: str
    event: SubscriptionEvent
    campaign_id: str | None = None
    target_url: str
    base_url: str
    created_at: datetime


def subscription_id(event: SubscriptionEvent, campaign_id: str | None, target_url: str) -> str:
    """Deterministic, so that subscribing the same target twice (a retried subscribe) is one subscription."""
    digest = hashlib.sha256(f"{event}|{campaign_id or '*'}|{target_url}".encode()).hexdigest()
    return f"hks_{digest[:32]}"


def delivery_id(subscription: Subscription, event_key: str) -> str:
    """The same for every attempt at delivering one event to one subscription: the receiver's dedupe key."""
    return f"dlv_{hashlib.sha256(f'{subscription.id}|{event_key}'.encode()).hexdigest()[:32]}"


class DeliveryTrigger(Record):
    """What delivery needs of a bus event's detail: whose referral, and when it happened."""

    referral_id: str
    campaign_id: str
    joined_at: datetime | None = None
    qualified_at: datetime | None = None
    reversed_at: datetime | None = None
    correlation_id: str | None = None


# ---------------------------------------------------------------------------------- the payload


class PayloadPerson(Record):
    code: str | None = None
    email: str | None = None
    name: str | None = None
    external_ids: dict[str, str] = msgspec.field(default_factory=dict)


class DeliveryPayload(Record):
    """What a delivery POSTs, and what `performList` lists: one referral, as of the moment it is sent.

    `id` is the referral's id: Zapier requires an `id` on every item. The fields' order is the JSON's.
    """

    id: str
    event: SubscriptionEvent
    campaign_id: str
    status: ReferralStatus
    referral_code: str
    share_url: str | None
    referred: PayloadPerson
    advocate: PayloadPerson
    joined_at: datetime
    qualified_at: datetime | None = None
    rewarded_at: datetime | None = None
    reversed_at: datetime | None = None

    @classmethod
    def of(
        cls, event: SubscriptionEvent, referral: Referral, advocate: Participant | None, base_url: str
    ) -> DeliveryPayload:
        return cls(
            id=referral.id,
            event=event,
            campaign_id=referral.campaign_id,
            status=referral.status,
            referral_code=referral.referred_code,
            share_url=f"{base_url.rstrip('/')}/r/{referral.referred_code}" if base_url else None,
            referred=PayloadPerson(
                code=referral.referred_code,
                email=referral.referred_email,
                name=referral.referred_name,
                external_ids=referral.external_ids,
            ),
            advocate=PayloadPerson(
                code=referral.advocate_code,
                email=advocate.email if advocate else None,
                name=advocate.name if advocate else None,
            ),
            joined_at=referral.joined_at,
            qualified_at=referral.qualified_at,
            rewarded_at=referral.rewarded_at,
            reversed_at=referral.reversed_at,
        )

    def json_body(self) -> dict[str, Any]:
        """As JSON values: datetimes in RFC 3339 with `Z` for UTC, the status its value, nulls kept."""
        body: dict[str, Any] = msgspec.to_builtins(self)
        return body


_EXAMPLE_AT = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)


def example_payload(event: SubscriptionEvent, base_url: str) -> DeliveryPayload:
    """A fixed example for `performList` when there is nothing real to show yet."""
    qualified = event != "referral.created"
    reversed_ = event == "referral.reversed"
    status = {
        "referral.created": ReferralStatus.PENDING,
        "referral.qualified": ReferralStatus.QUALIFIED,
        "referral.reversed": ReferralStatus.REVERSED,
    }[event]
    return DeliveryPayload(
        id="ref_example",
        event=event,
        campaign_id="cmp_example",
        status=status,
        referral_code="example2code",
        share_url=f"{base_url.rstrip('/')}/r/example2code" if base_url else None,
        referred=PayloadPerson(code="example2code", email="friend@example.com", name="Grace Example"),
        advocate=PayloadPerson(code="advocate2code", email="advocate@example.com", name="Ada Example"),
        joined_at=_EXAMPLE_AT,
        qualified_at=_EXAMPLE_AT.replace(day=20) if qualified else None,
        reversed_at=_EXAMPLE_AT.replace(day=27) if reversed_ else None,
    )


def occurred_at(event: SubscriptionEvent, about: object) -> datetime | None:
    """When the referral did what `event` announces: read from the referral, or from the event's detail."""
    at: datetime | None = getattr(about, EVENT_TIME[event])
    return at


# ------------------------------------------------------------------------------ target URLs


@dataclass(frozen=True)
class Target:
    """A vetted target: connect to `address` (the resolution that was checked), speak to `host`."""

    scheme: Literal["http", "https"]
    host: str
    port: int
    path: str  # path and query, as sent in the request line
    address: str


@dataclass(frozen=True)
class TargetPolicy:
    """https to public addresses only. Loopback (http or https) only when `allow_loopback`: the local
    stack, whose own API is served from loopback; never on AWS, where 127.0.0.1 is the Lambda sandbox
    (its Runtime API listens there)."""

    resolve: Resolver
    allow_loopback: bool = False

    def vet(self, url: str) -> Target:
        """Raises TargetRefused, naming the reason, unless every address `url`'s host resolves to is
        allowed; the Target carries the address to connect to, so DNS cannot change between the check
        and the connection."""
        scheme, host, port, path = self._syntax(url)
        literal = parse_ip(host)
        if literal is None and "." not in host.rstrip(".") and host != "localhost":
            raise TargetRefused("target_url must name a fully qualified host")
        try:
            addresses = list(self.resolve(host, port))
        except OSError as error:
            raise TargetRefused(f"target_url's host does not resolve ({error.__class__.__name__})") from None
        parsed = [parse_ip(address) for address in addresses]
        if not parsed or any(ip is None for ip in parsed):
            raise TargetRefused("target_url's host does not resolve to an address")
        ips = [ip for ip in parsed if ip is not None]
        loopback = all(embedded_ipv4(ip).is_loopback for ip in ips)
        if loopback and self.allow_loopback:
            return Target(scheme, host, port, path, str(ips[0]))
        if scheme != "https":
            raise TargetRefused("target_url must use https")
        if not all(is_public(ip) for ip in ips):
            raise TargetRefused("target_url must point to a public address")
        return Target(scheme, host, port, path, str(ips[0]))

    @staticmethod
    def _syntax(url: str) -> tuple[Literal["http", "https"], str, int, str]:
        if len(url) > MAX_TARGET_URL_LENGTH:
            raise TargetRefused(f"target_url is longer than {MAX_TARGET_URL_LENGTH} characters")
        if any(ch.isspace() or ord(ch) < 0x20 for ch in url):
            raise TargetRefused("target_url must not contain whitespace or control characters")
        if not url.isascii():
            raise TargetRefused("target_url must be ASCII (percent-encode the path, punycode the host)")
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise TargetRefused("target_url is not a valid URL") from None
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise TargetRefused("target_url must use https")
        if parts.username is not None or parts.password is not None:
            raise TargetRefused("target_url must not carry credentials")
        if parts.fragment:
            raise TargetRefused("target_url must not have a fragment")
        host = (parts.hostname or "").lower()
        if not host:
            raise TargetRefused("target_url has no host")
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return (
            "https" if scheme == "https" else "http",
            host,
            port or (443 if scheme == "https" else 80),
            path,
        )


def is_loopback_base(base_url: str) -> bool:
    """Whether this stack's own public URL is on loopback (the local stack)."""
    try:
        host = urlsplit(base_url).hostname or ""
    except ValueError:
        return False
    ip = parse_ip(host)
    return host == "localhost" or (ip is not None and ip.is_loopback)
