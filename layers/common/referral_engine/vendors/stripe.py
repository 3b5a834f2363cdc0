"""Stripe: a webhook endpoint in the Stripe dashboard posts events to the connection's URL.

Verification (https://docs.stripe.com/webhooks#verify-manually): the `Stripe-Signature` header holds
`t=<unix seconds>` and one or more `v1=<hex>` signatures (several while an endpoint's secret is being
rolled; test-mode events add a `v0`, which is never trusted). A v1 signature is HMAC-SHA256, keyed with
the endpoint's signing secret (`whsec_…`), over `"{t}.{raw body}"`. A call older or newer than five
minutes is refused as a replay. Implemented here without the stripe SDK; the tests prove it against it.

Mapping (docs/vendors/stripe.md): `invoice.paid` and `checkout.session.completed` (with
`checkout.session.async_payment_succeeded`, its delayed twin) qualify; `charge.refunded` (full, or a
partial one that leaves less than the connection's minimum) and `charge.dispute.created` reverse.
Amounts arrive in the currency's minor unit and become Decimal major units. Every signal carries the
Stripe event id (`evt_…`, the dedupe key) and the event's `created` time as when it happened.

Every signal also carries the ids of the payment it is about (docs/adr/0021): an invoice's `id`, and
its `charge` and `payment_intent` on API versions before 2025-03-31.basil (which removed them from the
Invoice, https://docs.stripe.com/changelog/basil/2025-03-31/add-support-for-multiple-partial-payments-on-invoices);
a Checkout Session's `payment_intent` and `invoice`; a refunded Charge's `id`, `payment_intent` and
(before basil) `invoice`; a Dispute's `charge` and `payment_intent`
(https://docs.stripe.com/api/charges/object, /api/disputes/object, /api/invoices/object,
/api/checkout/sessions/object). The qualification records them on the referral; a refund or dispute
then reverses it only when it is about one of them, and a dispute finds its referral through them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

import msgspec

from referral_engine.domain.identifiers import normalise_code, normalise_email
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
)

SIGNATURE_HEADER = "stripe-signature"
TOLERANCE_SECONDS = 300  # Stripe's libraries' default

PaymentEvent = Literal["invoice.paid", "checkout.session.completed"]
ReversalEvent = Literal["charge.refunded", "charge.dispute.created"]
PAYMENT_EVENTS: tuple[PaymentEvent, ...] = ("invoice.paid", "checkout.session.completed")
REVERSAL_EVENTS: tuple[ReversalEvent, ...] = ("charge.refunded", "charge.dispute.created")
# A Checkout Session paid with a delayed method (bank debits, vouchers) completes unpaid; this follows.
ASYNC_CHECKOUT_PAID = "checkout.session.async_payment_succeeded"

# https://docs.stripe.com/currencies#zero-decimal and #three-decimal. Everything else has two decimals
# in Stripe's API, including ISK, HUF and TWD (its "special cases": amounts stay two-decimal).
ZERO_DECIMAL = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA"}
    | {"PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"}
)
THREE_DECIMAL = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})


def major_units(minor: int, currency: str) -> Decimal:
    """An amount in Stripe's minor units (cents, or yen for JPY) as Decimal major units."""
    code = currency.upper()
    exponent = 0 if code in ZERO_DECIMAL else 3 if code in THREE_DECIMAL else 2
    return Decimal(minor).scaleb(-exponent)


MAX_MIN_AMOUNT = Decimal(10**9)


class StripeMilestone(Record, forbid_unknown_fields=True):
    """A Stripe connection's milestone rule: which events count, and how much they must be worth.

    The campaign's own milestone (amount, currency, `within_days` of signup) still applies in qualify.
    """

    events: Annotated[list[PaymentEvent], msgspec.Meta(min_length=1)] = msgspec.field(
        default_factory=lambda: list(PAYMENT_EVENTS)
    )
    min_amount: Decimal | None = None
    currency: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z]{3}$")] | None = None  # upper-cased
    # invoice.paid only, e.g. ["subscription_create"] for the first payment of a subscription.
    billing_reasons: list[Annotated[str, msgspec.Meta(pattern=r"^[a-z_]{1,64}$")]] | None = None
    reversals: list[ReversalEvent] = msgspec.field(default_factory=lambda: list(REVERSAL_EVENTS))  # []: never

    def __post_init__(self) -> None:
        if self.currency is not None:
            msgspec.structs.force_setattr(self, "currency", self.currency.upper())
        if self.min_amount is not None:
            if not (self.min_amount.is_finite() and 0 < self.min_amount <= MAX_MIN_AMOUNT):
                raise ValueError(f"min_amount must be more than 0 and at most {MAX_MIN_AMOUNT}")
            if self.currency is None:
                raise ValueError("a minimum amount needs its currency")


class _Rule(Record):
    """What `validate_connection` checks, so that a problem is located as `milestone.…`."""

    milestone: StripeMilestone


# ---------------------------------------------------------------------------- the payload we read
# Only the fields this adapter uses; everything else in Stripe's objects is ignored.


Expandable = str | dict[str, Any] | None  # an id, or the object when the endpoint expands it
Metadata = dict[str, Any] | None


def _id(value: Expandable) -> str | None:
    if isinstance(value, dict):
        found = value.get("id")
        return found if isinstance(found, str) else None
    return value or None


class _Data(Record):
    object: dict[str, Any]


class _Event(Record):
    id: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    type: str
    created: int
    data: _Data
    object: str = "event"


class _Details(Record):
    email: str | None = None
    metadata: Metadata = None


class _Parent(Record):
    subscription_details: _Details | None = None


class _Invoice(Record):
    amount_paid: int
    id: str | None = None
    charge: Expandable = None  # API versions before 2025-03-31.basil
    payment_intent: Expandable = None  # API versions before 2025-03-31.basil
    currency: str
    customer: Expandable = None
    customer_email: str | None = None
    billing_reason: str | None = None
    metadata: Metadata = None
    subscription_details: _Details | None = None  # API versions before 2025-03-31.basil
    parent: _Parent | None = None  # 2025-03-31.basil and later


class _CheckoutSession(Record):
    payment_status: str
    payment_intent: Expandable = None  # mode=payment
    invoice: Expandable = None  # mode=subscription, or a payment with invoice creation
    customer: Expandable = None
    customer_details: _Details | None = None
    customer_email: str | None = None
    client_reference_id: str | None = None
    metadata: Metadata = None
    amount_total: int | None = None
    currency: str | None = None


class _Charge(Record):
    amount: int
    currency: str
    id: str | None = None
    payment_intent: Expandable = None
    invoice: Expandable = None  # API versions before 2025-03-31.basil
    customer: Expandable = None
    billing_details: _Details | None = None
    receipt_email: str | None = None
    metadata: Metadata = None
    amount_captured: int | None = None
    amount_refunded: int = 0
    refunded: bool = False
    created: int | None = None  # when the payment was made (Unix seconds)


class _Evidence(Record):
    customer_email_address: str | None = None


class _Dispute(Record):
    amount: int
    currency: str
    id: str | None = None
    reason: str | None = None  # e.g. fraudulent, product_not_received, subscription_canceled
    charge: Expandable = None
    payment_intent: Expandable = None
    metadata: Metadata = None
    evidence: _Evidence | None = None


def _email(*candidates: str | None) -> str | None:
    for candidate in candidates:
        if candidate:
            try:
                return normalise_email(candidate)
            except ValueError:
                continue
    return None


def _code(*candidates: Any) -> str | None:
    """A referral code the business put on the object (`metadata.referral_code`, a Checkout Session's
    `client_reference_id`); values that cannot be codes (a cart id, say) are not one."""
    for candidate in candidates:
        if isinstance(candidate, str) and (code := normalise_code(candidate)):
            return code
    return None


def _referral_code(metadata: Metadata) -> Any:
    return (metadata or {}).get("referral_code")


def _payment_ids(*candidates: Expandable) -> list[str]:
    """The ids present, once each, in the order given."""
    return list(dict.fromkeys(found for candidate in candidates if (found := _id(candidate))))


class _Mapped(Record):
    """What an event says: who, how much, the payment it is about (and when a refunded one was made),
    and a reversal's reason."""

    match: SignalMatch
    amount: Decimal
    currency: str
    payment_ids: list[str]
    reason: str | None = None
    paid_at: datetime | None = None


class _Skip(Exception):
    """An authentic event this connection does not act on: acknowledged, nothing stored."""


# --------------------------------------------------------------------------------------- adapter


class StripeAdapter:
    source = "stripe"
    vendor_issues_secret = True

    def validate_connection(self, milestone: dict[str, Any], settings: dict[str, Any]) -> None:
        try:
            parse(_Rule, {"milestone": milestone})
        except Invalid as error:
            raise ValueError(problems(error)) from None
        if settings:
            raise ValueError("stripe connections take no settings: paste the endpoint's signing secret")

    def verify(self, request: InboundRequest, secret: str, connection: Connection) -> None:
        header = request.header(SIGNATURE_HEADER)
        if not header:
            raise WebhookRefused("no Stripe-Signature header")
        timestamp, signatures = _parse_signature_header(header)
        if timestamp is None or not signatures:
            raise WebhookRefused("the Stripe-Signature header has no t= or no v1= signature")
        signed = str(timestamp).encode() + b"." + request.body
        expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
        if not any(same(expected, given) for given in signatures):
            raise WebhookRefused("no v1 signature of the Stripe-Signature header matches this connection")
        if abs(request.received_at.timestamp() - timestamp) > TOLERANCE_SECONDS:
            raise StaleWebhook("the Stripe-Signature timestamp is more than five minutes away from now")

    def normalise(self, request: InboundRequest, connection: Connection) -> Normalised:
        try:
            event = decode(_Event, request.body)
        except Invalid as error:
            raise MalformedWebhook(f"not a Stripe event: {problems(error, 'body')}") from error
        if event.object != "event":  # a thin event (v2) carries no object to read
            return Normalised([], [f"{event.type}: thin events are not read; use a snapshot endpoint"])
        milestone = parse(StripeMilestone, connection.milestone)
        try:
            signal = self._signal(event, milestone, connection, request.received_at)
        except _Skip as skipped:
            return Normalised([], [f"{event.type}: {skipped}"])
        except Invalid as error:
            raise MalformedWebhook(
                f"{event.type} {event.id} is not shaped as Stripe's: {problems(error, 'object')}"
            ) from error
        return Normalised([signal])

    def reply(self, normalised: Normalised) -> VendorReply:
        return VendorReply(
            200,
            json.dumps({"received": True, "signals": len(normalised.signals), "ignored": normalised.ignored}),
        )

    # ---------------------------------------------------------------------------------- mapping

    def _signal(
        self, event: _Event, milestone: StripeMilestone, connection: Connection, received_at: datetime
    ) -> Signal:
        data = event.data.object
        kind = SignalKind.QUALIFY
        if event.type == "invoice.paid" and event.type in milestone.events:
            mapped = _invoice(parse(_Invoice, data), milestone)
        elif event.type in ("checkout.session.completed", ASYNC_CHECKOUT_PAID) and (
            "checkout.session.completed" in milestone.events
        ):
            mapped = _checkout(parse(_CheckoutSession, data), milestone)
        elif event.type == "charge.refunded" and event.type in milestone.reversals:
            mapped = _refund(parse(_Charge, data), milestone)
            kind = SignalKind.REVERSE
        elif event.type == "charge.dispute.created" and event.type in milestone.reversals:
            mapped = _dispute(parse(_Dispute, data), milestone)
            kind = SignalKind.REVERSE
        else:
            raise _Skip("not an event this connection acts on")
        return Signal(
            source=self.source,
            event_id=event.id,
            campaign_id=connection.campaign_id,
            kind=kind,
            match=mapped.match,
            amount=mapped.amount,
            currency=mapped.currency,
            occurred_at=datetime.fromtimestamp(event.created, UTC),
            received_at=received_at,
            reason=mapped.reason,
            payment_ids=mapped.payment_ids,
            paid_at=mapped.paid_at,
        )


def _parse_signature_header(header: str) -> tuple[int | None, list[str]]:
    """`t=…,v1=…[,v1=…][,v0=…]`: the timestamp and the v1 signatures; other schemes are ignored."""
    timestamp: int | None = None
    signatures: list[str] = []
    for element in header.split(","):
        prefix, _, value = element.strip().partition("=")
        value = value.strip()
        if prefix == "t" and timestamp is None:
            timestamp = int(value) if value.isascii() and value.isdigit() else None
            if timestamp is None:
                return None, []
        elif prefix == "v1" and value:
            signatures.append(value)
    return timestamp, signatures


def _worth(minor: int, currency: str, milestone: StripeMilestone, what: str) -> tuple[Decimal, str]:
    """The amount in major units and the currency, if they can reach the connection's milestone."""
    code = currency.upper()
    amount = major_units(minor, code)
    if milestone.currency is not None and code != milestone.currency:
        raise _Skip(f"{what} is in {code}, not {milestone.currency}")
    if milestone.min_amount is not None and amount < milestone.min_amount:
        raise _Skip(f"{what} of {amount} {code} is below {milestone.min_amount}")
    return amount, code


def _invoice(invoice: _Invoice, milestone: StripeMilestone) -> _Mapped:
    if invoice.amount_paid <= 0:
        raise _Skip("nothing was paid (a trial or a fully credited invoice)")
    if milestone.billing_reasons is not None and invoice.billing_reason not in milestone.billing_reasons:
        raise _Skip(f"billing reason {invoice.billing_reason} is not one of {milestone.billing_reasons}")
    amount, currency = _worth(invoice.amount_paid, invoice.currency, milestone, "the payment")
    subscription = invoice.subscription_details or (
        invoice.parent.subscription_details if invoice.parent else None
    )
    match = SignalMatch(
        external_id=_external_id(invoice.customer),
        code=_code(
            _referral_code(invoice.metadata), _referral_code(subscription.metadata if subscription else None)
        ),
        email=_email(invoice.customer_email),
    )
    payment_ids = _payment_ids(invoice.charge, invoice.payment_intent, invoice.id)
    return _Mapped(match=match, amount=amount, currency=currency, payment_ids=payment_ids)


def _checkout(session: _CheckoutSession, milestone: StripeMilestone) -> _Mapped:
    if session.payment_status != "paid":
        raise _Skip(f"payment status is {session.payment_status}, not paid")
    if not session.amount_total or not session.currency:
        raise _Skip("nothing was paid")
    amount, currency = _worth(session.amount_total, session.currency, milestone, "the payment")
    match = SignalMatch(
        external_id=_external_id(session.customer),
        code=_code(_referral_code(session.metadata), session.client_reference_id),
        email=_email(
            session.customer_details.email if session.customer_details else None, session.customer_email
        ),
    )
    payment_ids = _payment_ids(session.payment_intent, session.invoice)
    return _Mapped(match=match, amount=amount, currency=currency, payment_ids=payment_ids)


def _refund(charge: _Charge, milestone: StripeMilestone) -> _Mapped:
    """A full refund reverses; a partial one only when what the business keeps falls below the
    connection's minimum amount (the payment no longer reaches the milestone it qualified on)."""
    paid = charge.amount_captured or charge.amount
    _worth(paid, charge.currency, milestone, "the refunded payment")  # could it have qualified at all?
    kept = major_units(max(paid - charge.amount_refunded, 0), charge.currency)
    full = charge.refunded or charge.amount_refunded >= paid
    if not full and (milestone.min_amount is None or kept >= milestone.min_amount):
        raise _Skip("a partial refund: the payment still reaches the milestone")
    match = SignalMatch(
        external_id=_external_id(charge.customer),
        code=_code(_referral_code(charge.metadata)),
        email=_email(charge.billing_details.email if charge.billing_details else None, charge.receipt_email),
    )
    currency = charge.currency.upper()
    refunded = major_units(charge.amount_refunded, currency)
    how = (
        "in full"
        if full
        else f"in part ({refunded} {currency}): the {kept} {currency} kept is below the milestone"
    )
    return _Mapped(
        match=match,
        amount=refunded,
        currency=currency,
        payment_ids=_payment_ids(charge.id, charge.payment_intent, charge.invoice),
        reason=f"Stripe refunded charge {charge.id or 'without an id'} {how}",
        paid_at=datetime.fromtimestamp(charge.created, UTC) if charge.created else None,
    )


def _dispute(dispute: _Dispute, milestone: StripeMilestone) -> _Mapped:
    """A dispute names only the charge and payment intent, not the customer: it matches the referral
    that recorded that payment at qualification, or through a referral code or an email the dispute
    carries; otherwise it goes to the exceptions queue (with the payment intent or charge as its
    external id) for an admin."""
    amount, currency = _worth(dispute.amount, dispute.currency, milestone, "the disputed payment")
    payment = _id(dispute.payment_intent) or _id(dispute.charge)
    match = SignalMatch(
        external_id=f"stripe:{payment}" if payment else None,
        code=_code(_referral_code(dispute.metadata)),
        email=_email(dispute.evidence.customer_email_address if dispute.evidence else None),
    )
    payment_ids = _payment_ids(dispute.charge, dispute.payment_intent)
    charge = ", ".join(payment_ids) or "an unnamed payment"
    return _Mapped(
        match=match,
        amount=amount,
        currency=currency,
        payment_ids=payment_ids,
        reason=f"a Stripe dispute ({dispute.reason or 'no reason given'}) of {charge}",
    )


def _external_id(customer: Expandable) -> str | None:
    """How a referral's Stripe customer id was stored at signup: `external_ids: {"stripe": "cus_…"}`."""
    customer_id = _id(customer)
    return f"stripe:{customer_id}" if customer_id else None


__all__ = ["StripeAdapter", "StripeMilestone", "major_units"]
