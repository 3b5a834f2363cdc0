"""`referral.created` from a referral item of the table's stream: the contract's JSON, or nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from referral_engine.adapters.eventbridge import EventBridgePublisher
from referral_engine.services.announcements import InvalidReferralItem, ReferralAnnouncer
from support.bus import Events

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
DETAIL = {
    "referral_id": "r1",
    "campaign_id": "c1",
    "advocate_code": "ADA-7",
    "referred_code": "BOB-2",
    "joined_at": "2026-03-04T05:06:07.123456Z",
    "correlation_id": "req-1",
}


def announce(item: dict[str, Any]) -> list[dict[str, Any]]:
    events = Events()
    ReferralAnnouncer(EventBridgePublisher(events, "bus")).announce_item(item)  # type: ignore[arg-type]
    return events.entries


def test_the_detail_is_the_contracts_json_in_its_field_order() -> None:
    [entry] = announce(ITEM)

    assert entry["DetailType"] == "referral.created"
    assert entry["Detail"] == json.dumps(DETAIL, separators=(",", ":"))


@pytest.mark.parametrize(
    ("joined_at", "written"),
    [
        ("2026-03-04T05:06:07+00:00", "2026-03-04T05:06:07Z"),
        (datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC).isoformat(), "2026-01-02T03:04:05Z"),
        (
            datetime(2026, 3, 4, 5, 6, 7, tzinfo=timezone(timedelta(hours=2))).isoformat(),
            "2026-03-04T05:06:07+02:00",
        ),
    ],
)
def test_times_keep_their_offset_and_utc_is_written_with_z(joined_at: str, written: str) -> None:
    [entry] = announce({**ITEM, "joined_at": joined_at})

    assert json.loads(entry["Detail"])["joined_at"] == written


def test_an_absent_correlation_id_is_null_and_personal_fields_stay_out() -> None:
    item = {key: value for key, value in ITEM.items() if key != "correlation_id"}
    [entry] = announce({**item, "referred_name": "Zoë", "external_ids": {"stripe": "cus_1"}})

    assert json.loads(entry["Detail"]) == {**DETAIL, "correlation_id": None}


@pytest.mark.parametrize(
    "item",
    [
        {key: value for key, value in ITEM.items() if key != "referred_email"},
        {**ITEM, "id": 7},
        {**ITEM, "joined_at": "yesterday"},
        {**ITEM, "joined_at": None},
        {**ITEM, "status": "approved-ish"},
        {**ITEM, "correlation_id": 12},
    ],
)
def test_an_item_that_is_no_referral_is_refused_and_nothing_is_published(item: dict[str, Any]) -> None:
    events = Events()

    with pytest.raises(InvalidReferralItem):
        ReferralAnnouncer(EventBridgePublisher(events, "bus")).announce_item(item)  # type: ignore[arg-type]
    assert events.entries == []
