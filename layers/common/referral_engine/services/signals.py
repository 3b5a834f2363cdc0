"""Accepting qualification signals from our API and the generic inbound webhook: validate, store, ack."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal

import msgspec

from referral_engine.domain.errors import InvalidRequest, NotFound
from referral_engine.domain.identifiers import normalise_code, normalise_email, sha256_hex
from referral_engine.domain.models import Campaign, Signal, SignalKind, SignalMatch, utcnow
from referral_engine.domain.money import CURRENCY_PATTERN, MAX_AMOUNT, check_money
from referral_engine.domain.records import Record, json_values
from referral_engine.domain.times import check_event_time
from referral_engine.ports import (
    CampaignStore,
    CorrelationSource,
    ExceptionSink,
    InboxUnavailable,
    ReferralStore,
    SignalInbox,
    no_correlation,
)

if TYPE_CHECKING:
    from referral_engine.services.qualify_request import QualifyRequest, ReverseRequest

# msgspec's schema of a Decimal is a string; a number is read as well (Zapier sends either).
Amount = Annotated[
    Decimal,
    msgspec.Meta(
        description=f"A JSON number or a string (`79.00`): more than 0, at most {MAX_AMOUNT}, with at most "
        "two decimal places."
    ),
]


class InvalidField(ValueError):
    """A field's value breaks a rule its type cannot state. Worded as msgspec words its own errors
    (`records.problems` and the webhook's 422 name the field from it)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{message} - at `$.{field}`")


class GenericHookRequest(Record):
    """The generic webhook's parameters, from the query string and/or a JSON or form body."""

    event_id: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None
    amount: Amount | None = None
    currency: Annotated[str, msgspec.Meta(pattern=CURRENCY_PATTERN)] | None = None
    occurred_at: Annotated[datetime, msgspec.Meta(tz=True)] | None = None
    code: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    email: str | None = None
    event: Literal["qualify", "reverse"] = "qualify"  # reverse: a refund or cancellation undoes it
    reason: Annotated[str, msgspec.Meta(max_length=500)] | None = None  # a reversal's, kept on the referral

    def __post_init__(self) -> None:
        if self.reason is not None:
            msgspec.structs.force_setattr(self, "reason", self.reason.strip() or None)
        if self.event_id is not None:
            msgspec.structs.force_setattr(self, "event_id", self.event_id.strip())
            if not self.event_id:
                raise InvalidField("event_id", "Expected `str` of length >= 1")
            if self.event == "reverse" and len(self.event_id) > 190:  # stored as `<event_id>:reverse`
                raise InvalidField("event_id", "Expected `str` of length <= 190 with `event=reverse`")
        if self.amount is not None:
            _check_amount(self.amount)
        if self.occurred_at is not None:
            try:
                check_event_time(self.occurred_at)
            except ValueError as error:
                raise InvalidField("occurred_at", str(error)) from None
        if self.email is not None:
            try:
                msgspec.structs.force_setattr(self, "email", normalise_email(self.email))
            except ValueError as error:
                raise InvalidField("email", str(error)) from None


def _check_amount(amount: Decimal) -> None:
    """The money rules of `domain/money.py`, and written as a plain decimal (`1e3` reads as 1E+3)."""
    if amount.is_finite() and amount.as_tuple().exponent > 0:  # type: ignore[operator]
        raise InvalidField("amount", "Expected a decimal amount such as 12.50")
    try:
        check_money("amount", amount)
    except ValueError as error:
        raise InvalidField("amount", str(error).removeprefix("amount: ")) from None


def _derived_event_id(*parts: object) -> str:
    """Callers without event ids: identical requests dedupe, different ones (e.g. amounts) do not."""
    text = (format(part.normalize(), "f") if isinstance(part, Decimal) else str(part) for part in parts)
    return "auto-" + sha256_hex("|".join(text))[:32]


PARKED = "inbox_unavailable"  # the exceptions queue's reason for a signal parked on arrival


def store_or_park(
    inbox: SignalInbox, parking: ExceptionSink | None, signal: Signal, *, redelivered: bool
) -> bool:
    """Stores the signal; when the inbox is unavailable and the sender would not deliver it again, parks it
    in the exceptions queue (an admin's redrive stores it then) and counts it as stored. A sender that
    redelivers gets the error (a 5xx) and tries again later."""
    try:
        return inbox.accept(signal)
    except InboxUnavailable as error:
        if redelivered or parking is None:
            raise
        parking.report(reason=PARKED, message=str(error), payload={"signal": json_values(signal)})
        return True


class SignalService:
    def __init__(
        self,
        campaigns: CampaignStore,
        referrals: ReferralStore,
        inbox: SignalInbox,
        correlation: CorrelationSource = no_correlation,
        parking: ExceptionSink | None = None,
    ) -> None:
        self._campaigns = campaigns
        self._referrals = referrals
        self._inbox = inbox
        self._correlation = correlation
        self._parking = parking  # for the generic hook: automation tools do not call again

    def qualify_referral(self, referral_id: str, request: QualifyRequest) -> tuple[Signal, bool]:
        """Returns the stored signal and False when it is a duplicate of one already stored."""
        return self._from_api(
            referral_id,
            request.event_id or _derived_event_id(referral_id, request.amount, request.currency),
            amount=request.amount,
            currency=request.currency,
            occurred_at=request.occurred_at,
        )

    def reverse_referral(self, referral_id: str, request: ReverseRequest) -> tuple[Signal, bool]:
        """A reversal reported through our API; returns the stored signal and False for a duplicate."""
        event_id = request.event_id or _derived_event_id(referral_id, request.reason, request.occurred_at)
        return self._from_api(
            referral_id,
            f"{event_id}:reverse",
            kind=SignalKind.REVERSE,
            occurred_at=request.occurred_at,
            reason=request.reason,
        )

    def _from_api(self, referral_id: str, event_id: str, **fields: Any) -> tuple[Signal, bool]:
        referral = self._referrals.get(referral_id)
        if referral is None:
            raise NotFound(f"no referral {referral_id}")
        signal = Signal(
            source="api",
            event_id=event_id,
            campaign_id=referral.campaign_id,
            match=SignalMatch(referral_id=referral_id),
            received_at=utcnow(),
            correlation_id=self._correlation(),
            **fields,
        )
        return signal, self._inbox.accept(signal)

    def accept_generic(self, hook_id: str, request: GenericHookRequest) -> tuple[Signal, bool]:
        campaign = self._campaigns.by_hook(hook_id)
        if campaign is None:
            raise NotFound("no such webhook")
        return self.accept_generic_for(campaign, request)

    def accept_generic_for(
        self, campaign: Campaign, request: GenericHookRequest, *, webhook_id: str | None = None
    ) -> tuple[Signal, bool]:
        """As accept_generic, for the hook's campaign once found (and its signature checked): a signed
        call's `webhook-id` deduplicates when the request names no `event_id` (docs/adr/0024)."""
        code = None
        if request.code:
            code = normalise_code(request.code)
            if code is None:
                raise InvalidRequest("`code` is not a referral code")
        if code is None and request.email is None:
            raise InvalidRequest("pass the referred person's `code` (or their `email`)")
        reverse = request.event == "reverse"
        event_id = (
            request.event_id
            or webhook_id
            or _derived_event_id(
                campaign.id,
                code,
                request.email,
                request.amount,
                request.currency,
                *(["reverse"] if reverse else []),
            )
        )
        signal = Signal(
            source="generic",
            # A reversal keeps apart from the qualification it undoes, even under the same event id.
            event_id=f"{event_id}:reverse" if reverse else event_id,
            campaign_id=campaign.id,
            kind=SignalKind.REVERSE if reverse else SignalKind.QUALIFY,
            match=SignalMatch(code=code, email=request.email),
            amount=request.amount,
            currency=request.currency,
            occurred_at=request.occurred_at,
            received_at=utcnow(),
            correlation_id=self._correlation(),
            reason=request.reason if reverse else None,
        )
        return signal, store_or_park(self._inbox, self._parking, signal, redelivered=False)
