"""Accepting qualification signals from our API and the generic inbound webhook: validate, store, ack."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, StringConstraints

from referral_engine.domain.errors import InvalidRequest, NotFound
from referral_engine.domain.fields import Currency, Email, Money
from referral_engine.domain.identifiers import normalise_code, sha256_hex
from referral_engine.domain.models import Signal, SignalMatch, utcnow
from referral_engine.ports import (
    CampaignStore,
    CorrelationSource,
    ReferralStore,
    SignalInbox,
    no_correlation,
)

EventId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class QualifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_id: EventId | None = None
    amount: Money | None = None
    currency: Currency | None = None
    occurred_at: AwareDatetime | None = None


class GenericHookRequest(QualifyRequest):
    """The generic webhook's parameters, from the query string and/or a JSON or form body."""

    model_config = ConfigDict(extra="ignore")

    code: Annotated[str, StringConstraints(max_length=64)] | None = None
    email: Email | None = None


def _derived_event_id(*parts: object) -> str:
    """Callers without event ids: identical requests dedupe, different ones (e.g. amounts) do not."""
    text = (format(part.normalize(), "f") if isinstance(part, Decimal) else str(part) for part in parts)
    return "auto-" + sha256_hex("|".join(text))[:32]


class SignalService:
    def __init__(
        self,
        campaigns: CampaignStore,
        referrals: ReferralStore,
        inbox: SignalInbox,
        correlation: CorrelationSource = no_correlation,
    ) -> None:
        self._campaigns = campaigns
        self._referrals = referrals
        self._inbox = inbox
        self._correlation = correlation

    def qualify_referral(self, referral_id: str, request: QualifyRequest) -> tuple[Signal, bool]:
        """Returns the stored signal and False when it is a duplicate of one already stored."""
        referral = self._referrals.get(referral_id)
        if referral is None:
            raise NotFound(f"no referral {referral_id}")
        event_id = request.event_id or _derived_event_id(referral_id, request.amount, request.currency)
        signal = Signal(
            source="api",
            event_id=event_id,
            campaign_id=referral.campaign_id,
            match=SignalMatch(referral_id=referral_id),
            amount=request.amount,
            currency=request.currency,
            occurred_at=request.occurred_at,
            received_at=utcnow(),
            correlation_id=self._correlation(),
        )
        return signal, self._inbox.accept(signal)

    def accept_generic(self, hook_id: str, request: GenericHookRequest) -> tuple[Signal, bool]:
        campaign = self._campaigns.by_hook(hook_id)
        if campaign is None:
            raise NotFound("no such webhook")
        code = None
        if request.code:
            code = normalise_code(request.code)
            if code is None:
                raise InvalidRequest("`code` is not a referral code")
        if code is None and request.email is None:
            raise InvalidRequest("pass the referred person's `code` (or their `email`)")
        event_id = request.event_id or _derived_event_id(
            campaign.id, code, request.email, request.amount, request.currency
        )
        signal = Signal(
            source="generic",
            event_id=event_id,
            campaign_id=campaign.id,
            match=SignalMatch(code=code, email=request.email),
            amount=request.amount,
            currency=request.currency,
            occurred_at=request.occurred_at,
            received_at=utcnow(),
            correlation_id=self._correlation(),
        )
        return signal, self._inbox.accept(signal)
