"""Creating campaigns and enrolling advocates."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from referral_engine.domain import models
from referral_engine.domain.errors import CampaignInactive, InvalidRequest, NotFound
from referral_engine.domain.fields import Currency, Email, ExternalIds, Money
from referral_engine.domain.holds import HOLD_DAYS_PLACES, MAX_HOLD_DAYS
from referral_engine.domain.identifiers import new_code, new_id, new_secret_token
from referral_engine.domain.links import check_public_url
from referral_engine.domain.models import (
    Campaign,
    Participant,
    utcnow,
)
from referral_engine.ports import CampaignPage, CampaignStore, CodeTaken, EmailTaken, ParticipantStore
from referral_engine.services.fraud_policy_request import FraudPolicyRequest

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
CODE_ATTEMPTS = 5
MAX_PAGE = 100


_PLAIN_DAYS = re.compile(rf"\d{{1,3}}(\.\d{{1,{HOLD_DAYS_PLACES}}})?")


def _plain_days(value: Any) -> Any:
    """A number of days is a JSON number or its plain decimal text ("0.5"): not "1e2" nor true."""
    if isinstance(value, bool) or (isinstance(value, str) and not _PLAIN_DAYS.fullmatch(value)):
        raise ValueError("a decimal number of days such as 0.5")
    return value


class RewardRule(BaseModel):
    """A fixed reward per qualified referral; double-sided when `friend_amount` is set."""

    # The request form of models.RewardRule; a misspelt `friend_amount` must not make it single-sided.
    model_config = ConfigDict(frozen=True, extra="forbid")

    amount: Money
    currency: Currency
    friend_amount: Money | None = None
    hold_days: Annotated[
        Decimal,
        BeforeValidator(_plain_days),
        Field(
            ge=0,
            le=MAX_HOLD_DAYS,
            decimal_places=HOLD_DAYS_PLACES,
            allow_inf_nan=False,
            description="Days each reward stays `pending` before it is released (0.5 = 12 hours); 0: none.",
        ),
    ] = Decimal(0)


class Milestone(BaseModel):
    """What a qualifying signal must show. Empty means: any qualifying signal counts."""

    model_config = ConfigDict(frozen=True, extra="forbid")  # the request form of models.Milestone

    min_amount: Money | None = None
    currency: Currency | None = None
    within_days: Annotated[int, Field(gt=0, le=3650, strict=True)] | None = None

    @model_validator(mode="after")
    def _amount_needs_currency(self) -> Milestone:
        if self.min_amount is not None and self.currency is None:
            raise ValueError("a minimum amount needs its currency")
        return self


class NewCampaign(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    landing_url: AnyHttpUrl
    reward: RewardRule
    milestone: Milestone = Milestone()
    fraud: FraudPolicyRequest = FraudPolicyRequest()

    @field_validator("landing_url")
    @classmethod
    def _public(cls, url: AnyHttpUrl) -> AnyHttpUrl:
        check_public_url(str(url))
        return url


class NewAdvocate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Email
    name: Name | None = None
    external_ids: ExternalIds = {}


class CampaignService:
    def __init__(self, campaigns: CampaignStore, participants: ParticipantStore) -> None:
        self._campaigns = campaigns
        self._participants = participants

    def create(self, request: NewCampaign) -> Campaign:
        campaign = Campaign(
            id=new_id("cmp"),
            name=request.name,
            landing_url=str(request.landing_url),
            reward=models.RewardRule(**request.reward.model_dump()),
            milestone=models.Milestone(**request.milestone.model_dump()),
            fraud=request.fraud.policy(),
            hook_id=new_secret_token(),
            created_at=utcnow(),
        )
        self._campaigns.add(campaign)
        return campaign

    def get(self, campaign_id: str) -> Campaign:
        campaign = self._campaigns.get(campaign_id)
        if campaign is None:
            raise NotFound(f"no campaign {campaign_id}")
        return campaign

    def recent(self, *, limit: int = 50, cursor: str | None = None) -> CampaignPage:
        """The campaigns, newest first, a page at a time (`cursor` is the previous page's `next_cursor`)."""
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidRequest(f"limit must be between 1 and {MAX_PAGE}")
        try:
            return self._campaigns.recent(limit=limit, cursor=cursor)
        except ValueError as error:
            raise InvalidRequest("the cursor is not valid") from error

    def participant(self, code: str) -> tuple[Participant, Campaign | None]:
        """An advocate's or referred friend's record by their code, with its campaign."""
        participant = self._participants.get(code.strip().lower())
        if participant is None:
            raise NotFound(f"no referral code {code!r}")
        return self._participants.with_clicks(participant), self._campaigns.get(participant.campaign_id)

    def enrol_advocate(self, campaign_id: str, request: NewAdvocate) -> tuple[Participant, bool]:
        """Returns the participant and whether it was created; the same email gets the same code."""
        campaign = self.get(campaign_id)
        if campaign.status != "active":
            raise CampaignInactive(f"campaign {campaign_id} is {campaign.status}")
        for _ in range(CODE_ATTEMPTS):
            participant = Participant(
                code=new_code(),
                campaign_id=campaign.id,
                email=request.email,
                name=request.name,
                external_ids=request.external_ids,
                landing_url=campaign.landing_url,
                created_at=utcnow(),
            )
            try:
                self._participants.add(participant)
            except CodeTaken:
                continue
            except EmailTaken:
                existing = self._participants.by_email(campaign.id, request.email)
                if existing is None:  # claimed and gone again: only possible if someone deleted it
                    raise
                return self._participants.with_clicks(existing), False
            return participant, True
        raise RuntimeError("could not find a free referral code")
