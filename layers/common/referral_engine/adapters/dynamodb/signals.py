"""The signal inbox: one conditional put per (source, vendor event id) is the dedupe."""

from __future__ import annotations

from datetime import timedelta

from referral_engine.adapters.dynamodb import keys
from referral_engine.adapters.dynamodb.codec import model_item
from referral_engine.adapters.dynamodb.table import Table
from referral_engine.domain.models import Signal

# Longer than any vendor's redelivery window (Stripe: 3 days, Salesforce: 24 h, HubSpot: 3 days).
DEDUPE_WINDOW = timedelta(days=35)


class DynamoSignalInbox:
    def __init__(self, table: Table) -> None:
        self._table = table

    def accept(self, signal: Signal) -> bool:
        expires_at = int((signal.received_at + DEDUPE_WINDOW).timestamp())
        item = model_item(signal, "signal", **keys.signal(signal.dedupe_key), expires_at=expires_at)
        return self._table.put_new(item)
