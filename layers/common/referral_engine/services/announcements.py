"""`referral.created` from a new referral's stream image, without pydantic: announce_referrals' cold
start stays within budget (docs/adr/0010-cold-init-budget.md). The detail's JSON is exactly what
`ReferralCreated(...).model_dump_json()` writes (tests/unit/test_announcements.py compares the two), and
an item `Referral.model_validate` would refuse is refused here too, as an `InvalidReferralItem`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol, TypedDict

_REQUIRED = ("id", "campaign_id", "advocate_code", "referred_code", "referred_email", "joined_at")
_STATUSES = frozenset({"pending", "qualified", "rewarded", "in_review", "rejected", "reversed"})


class CreatedDetail(TypedDict):
    """The `referral.created` detail, in ReferralCreated's field order."""

    referral_id: str
    campaign_id: str
    advocate_code: str
    referred_code: str
    joined_at: str
    correlation_id: str | None


class InvalidReferralItem(ValueError):
    """The image is not a referral: retrying cannot fix it, and there is no event to build from it."""


class CreatedDetailPublisher(Protocol):
    def publish_created_detail(self, detail: str) -> None:
        """Puts one `referral.created` event with this JSON detail on the bus; raises if refused."""


def _timestamp(raw: object) -> str:
    """The time as pydantic serialises a datetime (ISO 8601, `Z` for UTC)."""
    if not isinstance(raw, str):
        raise InvalidReferralItem("joined_at is not a time")
    try:
        written = datetime.fromisoformat(raw).isoformat()
    except ValueError as error:
        raise InvalidReferralItem(f"joined_at is not a time: {raw!r}") from error
    return written.removesuffix("+00:00") + "Z" if written.endswith("+00:00") else written


def created_detail(image: Mapping[str, Any]) -> CreatedDetail:
    """The event's detail from a referral item (as the stream delivers it, deserialised)."""
    for name in _REQUIRED:
        if not isinstance(image.get(name), str):
            raise InvalidReferralItem(f"{name} is missing or not text")
    if image.get("status", "pending") not in _STATUSES:
        raise InvalidReferralItem(f"unknown status {image.get('status')!r}")
    correlation_id = image.get("correlation_id")
    if correlation_id is not None and not isinstance(correlation_id, str):
        raise InvalidReferralItem("correlation_id is not text")
    return CreatedDetail(
        referral_id=image["id"],
        campaign_id=image["campaign_id"],
        advocate_code=image["advocate_code"],
        referred_code=image["referred_code"],
        joined_at=_timestamp(image["joined_at"]),
        correlation_id=correlation_id,
    )


def created_json(detail: CreatedDetail) -> str:
    return json.dumps(detail, separators=(",", ":"), ensure_ascii=False)


class StreamAnnouncer:
    """Announces a new referral item from the table's stream as `referral.created`."""

    def __init__(self, publisher: CreatedDetailPublisher) -> None:
        self._publisher = publisher

    def announce(self, image: Mapping[str, Any]) -> CreatedDetail:
        detail = created_detail(image)
        self._publisher.publish_created_detail(created_json(detail))
        return detail
