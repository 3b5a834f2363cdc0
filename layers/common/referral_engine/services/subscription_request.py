"""The body of `POST /v1/hooks/subscriptions`: a pydantic model, as every HTTP request model is (the
OpenAPI document is generated from them). In a module of its own so that the subscription and delivery
services load without pydantic."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints, field_validator

from referral_engine.domain.subscriptions import MAX_TARGET_URL_LENGTH, SubscriptionEvent


class NewSubscription(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target_url: Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_TARGET_URL_LENGTH)]
    event: SubscriptionEvent
    campaign_id: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] | None = None

    @field_validator("campaign_id")
    @classmethod
    def _blank_is_every_campaign(cls, value: str | None) -> str | None:
        return value or None  # Zapier sends an optional input left empty as ""
