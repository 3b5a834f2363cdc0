"""The signal inbox: one conditional put per (source, vendor event id) is the dedupe."""

from __future__ import annotations

from datetime import timedelta

from botocore.exceptions import BotoCoreError, ClientError

from referral_engine.adapters.dynamodb import keys
from referral_engine.adapters.dynamodb.codec import Item, model_item
from referral_engine.adapters.dynamodb.table import Table
from referral_engine.domain.models import Signal
from referral_engine.ports import InboxUnavailable

# Longer than any vendor's redelivery window (Stripe: 3 days, Salesforce: 24 h, HubSpot: 3 days).
DEDUPE_WINDOW = timedelta(days=35)


def inbox_item(signal: Signal) -> Item:
    """The signal as the inbox stores it (its INSERT on the stream is what qualify processes)."""
    expires_at = int((signal.received_at + DEDUPE_WINDOW).timestamp())
    return model_item(signal, "signal", **keys.signal(signal.dedupe_key), expires_at=expires_at)


class DynamoSignalInbox:
    def __init__(self, table: Table) -> None:
        self._table = table

    def accept(self, signal: Signal) -> bool:
        item = inbox_item(signal)
        try:
            return self._table.put_new(item)
        except (ClientError, BotoCoreError) as error:  # a refused condition is not one: put_new says False
            raise InboxUnavailable(f"signal {signal.dedupe_key} not stored: {error}") from error
