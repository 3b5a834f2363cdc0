"""Publishing domain events (`referral.created`, `.qualified`, `.reversed`, the review queue's
`.in_review`, `.approved`, `.rejected`) on the custom EventBridge bus."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from referral_engine.domain.bus import EVENT_SOURCE, REFERRAL_CREATED
from referral_engine.domain.records import to_json

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient

    from referral_engine.domain.events import (
        ReferralCreated,
        ReferralQualified,
        ReferralReversed,
        ReviewEvent,
    )


class EventPublishFailed(RuntimeError):
    pass


class EventBridgePublisher:
    def __init__(self, client: EventBridgeClient, bus_name: str) -> None:
        self._client = client
        self._bus_name = bus_name

    def publish_created(self, event: ReferralCreated) -> None:
        self._put(REFERRAL_CREATED, to_json(event).decode())

    def publish_qualified(self, event: ReferralQualified) -> None:
        self._put(event.detail_type, to_json(event).decode())

    def publish_reversed(self, event: ReferralReversed) -> None:
        self._put(event.detail_type, to_json(event).decode())

    def publish_review(self, event: ReviewEvent) -> None:
        self._put(event.detail_type, to_json(event).decode())

    def republish(self, event: dict[str, Any]) -> None:
        """An event an admin redrives, back on the bus as it was sent (its own source and detail)."""
        self._put(
            str(event["detail-type"]), json.dumps(event["detail"]), str(event.get("source") or EVENT_SOURCE)
        )

    def _put(self, detail_type: str, detail: str, source: str = EVENT_SOURCE) -> None:
        response = self._client.put_events(
            Entries=[
                {
                    "EventBusName": self._bus_name,
                    "Source": source,
                    "DetailType": detail_type,
                    "Detail": detail,
                }
            ]
        )
        # PutEvents reports per-entry failures in a 200 response: raise, so that the caller is retried.
        if response.get("FailedEntryCount", 0):
            codes = [entry.get("ErrorCode") for entry in response["Entries"] if entry.get("ErrorCode")]
            raise EventPublishFailed(f"EventBridge refused {detail_type}: {codes}")
