"""Publishing `referral.created` on the custom EventBridge bus (announced from the table's stream)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from referral_engine.domain.events import EVENT_SOURCE
from referral_engine.domain.hooks import ReferralCreated

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient


class CreatedEventNotPublished(RuntimeError):
    pass


class EventBridgeCreatedPublisher:
    def __init__(self, client: EventBridgeClient, bus_name: str) -> None:
        self._client = client
        self._bus_name = bus_name

    def publish_created(self, event: ReferralCreated) -> None:
        response = self._client.put_events(
            Entries=[
                {
                    "EventBusName": self._bus_name,
                    "Source": EVENT_SOURCE,
                    "DetailType": event.detail_type,
                    "Detail": event.model_dump_json(),
                }
            ]
        )
        # PutEvents reports per-entry failures in a 200 answer: raise, so the stream record is retried.
        if response.get("FailedEntryCount", 0):
            codes = [entry.get("ErrorCode") for entry in response["Entries"] if entry.get("ErrorCode")]
            raise CreatedEventNotPublished(f"EventBridge refused referral.created: {codes}")
