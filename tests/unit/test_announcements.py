"""announce_referrals builds `referral.created` without pydantic: the same JSON as the contract model."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from referral_engine.domain.records import Invalid

from referral_engine.domain.events import ReferralCreated
from referral_engine.domain.models import Referral
from referral_engine.domain.records import parse, to_json
from referral_engine.services.announcements import InvalidReferralItem, StreamAnnouncer, created_detail
from referral_engine.services.subscriptions import ReferralAnnouncer

ITEM: dict[str, Any] = {
    "pk": "REFERRAL#r1",
    "sk": "REFERRAL#r1",
    "entity": "referral",
    "id": "r1",
    "campaign_id": "c1",
    "advocate_code": "ADA-7",
    "referred_code": "BOB-2",
    "referred_email": "bob@example.com",
    "status": "pending",
    "joined_at": "2026-03-04T05:06:07.123456+00:00",
    "correlation_id": "req-1",
}
SAMPLES = [
    ITEM,
    {**ITEM, "correlation_id": None},
    {key: value for key, value in ITEM.items() if key != "correlation_id"},
    {**ITEM, "joined_at": "2026-03-04T05:06:07+00:00"},
    {**ITEM, "joined_at": datetime(2026, 3, 4, 5, 6, 7, tzinfo=timezone(timedelta(hours=2))).isoformat()},
    {**ITEM, "joined_at": "2026-03-04T05:06:07.000001"},
    {**ITEM, "advocate_code": "ÉLODIE-1", "referred_name": "Zoë", "external_ids": {"stripe": "cus_1"}},
]


class Bus:
    def __init__(self) -> None:
        self.details: list[str] = []

    def publish_created_detail(self, detail: str) -> None:
        self.details.append(detail)


class ModelBus:
    def publish_created(self, event: ReferralCreated) -> None:
        pass


def contract_json(item: dict[str, Any]) -> str:
    """What the model-based announcer (the admin's redrive) publishes for the same item."""
    return to_json(ReferralAnnouncer(ModelBus()).announce(parse(Referral, item))).decode()


@pytest.mark.parametrize("item", SAMPLES)
def test_the_event_is_byte_for_byte_the_contract_models(item: dict[str, Any]) -> None:
    bus = Bus()

    StreamAnnouncer(bus).announce(item)

    assert bus.details == [contract_json(item)]


INVALID = [
    {key: value for key, value in ITEM.items() if key != "referred_email"},
    {**ITEM, "id": 7},
    {**ITEM, "joined_at": "yesterday"},
    {**ITEM, "joined_at": None},
    {**ITEM, "status": "approved-ish"},
    {**ITEM, "correlation_id": 12},
]


@pytest.mark.parametrize("item", INVALID)
def test_an_item_the_model_refuses_is_refused_and_nothing_is_published(item: dict[str, Any]) -> None:
    with pytest.raises(Invalid):
        parse(Referral, item)
    bus = Bus()

    with pytest.raises(InvalidReferralItem):
        StreamAnnouncer(bus).announce(item)
    assert bus.details == []


def test_a_utc_time_is_written_with_z() -> None:
    joined = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC).isoformat()

    assert created_detail({**ITEM, "joined_at": joined})["joined_at"] == "2026-01-02T03:04:05Z"
