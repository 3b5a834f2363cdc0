"""Putting an EventBridge event an admin redrives back on the bus, exactly as it was sent."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient


class EventRefused(RuntimeError):
    pass


class EventBridgeRepublisher:
    def __init__(self, client: EventBridgeClient, bus_name: str) -> None:
        self._client = client
        self._bus_name = bus_name

    def republish(self, event: dict[str, Any]) -> None:
        response = self._client.put_events(
            Entries=[
                {
                    "EventBusName": self._bus_name,
                    "Source": str(event.get("source", "")),
                    "DetailType": str(event["detail-type"]),
                    "Detail": json.dumps(event["detail"]),
                }
            ]
        )
        if response.get("FailedEntryCount", 0):
            codes = [entry.get("ErrorCode") for entry in response["Entries"] if entry.get("ErrorCode")]
            raise EventRefused(f"EventBridge refused the event: {codes}")
