"""Subscriptions and the delivery log, in the one table. The stored names keep their first spelling
(`hook_subscription`, `HOOKSUB#`, ...): renaming them would orphan the items already stored.

- hook_subscription: pk `HOOKSUB#{id}`, sk `HOOKSUB`; gsi1pk `HOOKSUBS#{event}#{campaign id or *}`,
  gsi1sk `{created_at}#{id}`; the target URL and the API's base URL.
- hook_delivery: pk `HOOKDELIVERY#{delivery id}`, sk `HOOKDELIVERY`: a target's 2xx for one event;
  `expires_at` (TTL) a week later.

Delivering an event is two queries of gsi1: the campaign's subscriptions and those to every campaign.
The key builders live here rather than in keys.py: only this module reads or writes these items.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from referral_engine.adapters.dynamodb.codec import model_item, to_item, value
from referral_engine.adapters.dynamodb.keys import Key, iso
from referral_engine.adapters.dynamodb.table import Table
from referral_engine.domain.models import utcnow
from referral_engine.domain.records import parse
from referral_engine.domain.subscriptions import Subscription, SubscriptionEvent

EVERY_CAMPAIGN = "*"
# Longer than an event can be retried (the rule's and Lambda's maximum event age, an admin's redrive).
DELIVERY_LOG_TTL = timedelta(days=7)


def subscription_key(subscription_id: str) -> Key:
    return {"pk": f"HOOKSUB#{subscription_id}", "sk": "HOOKSUB"}


def subscriptions_to(event: SubscriptionEvent, campaign_id: str | None) -> str:
    return f"HOOKSUBS#{event}#{campaign_id or EVERY_CAMPAIGN}"


def delivery_key(delivery_id: str) -> Key:
    return {"pk": f"HOOKDELIVERY#{delivery_id}", "sk": "HOOKDELIVERY"}


class DynamoSubscriptionStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    def add(self, subscription: Subscription) -> bool:
        item = model_item(
            subscription,
            "hook_subscription",
            **subscription_key(subscription.id),
            gsi1pk=subscriptions_to(subscription.event, subscription.campaign_id),
            gsi1sk=f"{iso(subscription.created_at)}#{subscription.id}",
        )
        return self._table.put_new(item)

    def get(self, subscription_id: str) -> Subscription | None:
        item = self._table.get(subscription_key(subscription_id), consistent=True)
        return parse(Subscription, item) if item else None

    def remove(self, subscription_id: str) -> bool:
        response = self._table.client.delete_item(
            TableName=self._table.name, Key=to_item(subscription_key(subscription_id)), ReturnValues="ALL_OLD"
        )
        return bool(response.get("Attributes"))

    def matching(self, event: SubscriptionEvent, campaign_id: str) -> list[Subscription]:
        found: list[Subscription] = []
        for partition in (subscriptions_to(event, campaign_id), subscriptions_to(event, None)):
            query: dict[str, Any] = {
                "IndexName": "gsi1",
                "KeyConditionExpression": "gsi1pk = :partition",
                "ExpressionAttributeValues": {":partition": value(partition)},
            }
            while True:
                items, last = self._table.query(**query)
                found.extend(parse(Subscription, item) for item in items)
                if last is None:
                    break
                query["ExclusiveStartKey"] = to_item(last)
        return found


class DynamoDeliveryLog:
    def __init__(self, table: Table) -> None:
        self._table = table

    def delivered(self, delivery_id: str) -> bool:
        return self._table.get(delivery_key(delivery_id), consistent=True) is not None

    def record(self, delivery_id: str, subscription_id: str, status: int) -> None:
        now = utcnow()
        self._table.put(
            to_item(
                {
                    **delivery_key(delivery_id),
                    "entity": "hook_delivery",
                    "subscription_id": subscription_id,
                    "status": status,
                    "delivered_at": now,
                    "expires_at": int((now + DELIVERY_LOG_TTL).timestamp()),
                }
            )
        )
