"""Contracts of the events this system puts on its EventBridge bus (the `detail` of each)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

EVENT_SOURCE = "referral-engine"


class SignalRef(BaseModel):
    model_config = ConfigDict(frozen=True)

    source: str
    event_id: str
    amount: Decimal | None = None
    currency: str | None = None


class ReferralQualified(BaseModel):
    model_config = ConfigDict(frozen=True)
    detail_type: ClassVar[str] = "referral.qualified"

    referral_id: str
    campaign_id: str
    advocate_code: str
    referred_code: str
    qualified_at: datetime
    signal: SignalRef
