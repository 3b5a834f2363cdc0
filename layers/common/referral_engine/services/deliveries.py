"""Delivering the engine's events to every matching subscription (deliver_events).

Delivery is at least once: an event is retried (by Lambda) until every target has answered 2xx or 410,
and the targets that already took it are not posted to again (the delivery log). Every attempt at one
(subscription, event) carries the same delivery id, for the receiver to drop a rare duplicate.

No pydantic on this path: deliver_events' cold start has no room for it (domain/records.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from referral_engine.domain.subscriptions import (
    DELIVERY_ID_HEADER,
    EVENT_HEADER,
    DeliveryPayload,
    Subscription,
    SubscriptionEvent,
    TargetPolicy,
    TargetRefused,
    delivery_id,
)
from referral_engine.ports import (
    DeliveryFailed,
    DeliveryLog,
    DeliverySender,
    ParticipantStore,
    ReferralStore,
    SubscriptionStore,
)

USER_AGENT = "referral-engine-hooks/1"  # on the wire since the first release: receivers may filter on it


class DeliveryIncomplete(RuntimeError):
    """Some targets neither took the event nor said they are gone: raised so that the event is retried
    (and, after the retries, kept in the failure queue). Names subscriptions, never target URLs."""

    def __init__(self, failures: dict[str, str]) -> None:
        super().__init__(f"delivery failed for {len(failures)} subscription(s): {json.dumps(failures)}")
        self.failures = failures


@dataclass
class DeliveryReport:
    delivered: list[str] = field(default_factory=list)  # subscription ids that answered 2xx now
    already: list[str] = field(default_factory=list)  # took it on an earlier attempt
    removed: list[str] = field(default_factory=list)  # answered 410 Gone: unsubscribed
    failed: dict[str, str] = field(default_factory=dict)  # subscription id → what happened

    def summary(self) -> dict[str, Any]:
        return {
            "delivered": len(self.delivered),
            "already_delivered": len(self.already),
            "removed": len(self.removed),
            "failed": len(self.failed),
        }


class DeliveryService:
    def __init__(
        self,
        referrals: ReferralStore,
        participants: ParticipantStore,
        subscriptions: SubscriptionStore,
        log: DeliveryLog,
        sender: DeliverySender,
        policy: TargetPolicy,
    ) -> None:
        self._referrals = referrals
        self._participants = participants
        self._subscriptions = subscriptions
        self._log = log
        self._sender = sender
        self._policy = policy

    def deliver(
        self, event: SubscriptionEvent, referral_id: str, occurred_at: datetime, *, campaign_id: str
    ) -> DeliveryReport:
        """POSTs the referral's payload to every subscription matching the event; a 410 removes that
        subscription. Raises DeliveryIncomplete, after trying every target, if any failed.
        Without a subscription (the usual case) the referral is not even read."""
        report = DeliveryReport()
        subscriptions = self._subscriptions.matching(event, campaign_id)
        if not subscriptions:
            return report
        referral = self._referrals.get(referral_id)
        if referral is None:
            return report  # nothing to describe (the event names a referral that does not exist)
        event_key = f"{event}:{referral.id}:{occurred_at.isoformat()}"
        advocate = self._participants.get(referral.advocate_code)
        for subscription in subscriptions:
            payload = DeliveryPayload.of(event, referral, advocate, subscription.base_url)
            self._deliver_one(subscription, event, event_key, payload, report)
        if report.failed:
            raise DeliveryIncomplete(report.failed)
        return report

    def _deliver_one(
        self,
        subscription: Subscription,
        event: SubscriptionEvent,
        event_key: str,
        payload: DeliveryPayload,
        report: DeliveryReport,
    ) -> None:
        delivery = delivery_id(subscription, event_key)
        if self._log.delivered(delivery):
            report.already.append(subscription.id)
            return
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            DELIVERY_ID_HEADER: delivery,
            EVENT_HEADER: event,
        }
        try:
            target = self._policy.vet(subscription.target_url)  # again: DNS may have changed since
            status = self._sender.post(target, json.dumps(payload.json_body()).encode(), headers)
        except TargetRefused as refused:
            report.failed[subscription.id] = f"refused: {refused.message}"
            return
        except DeliveryFailed as error:
            report.failed[subscription.id] = f"no answer: {error}"
            return
        if 200 <= status < 300:
            self._log.record(delivery, subscription.id, status)
            report.delivered.append(subscription.id)
        elif status == 410:
            self._subscriptions.remove(subscription.id)
            report.removed.append(subscription.id)
        else:
            report.failed[subscription.id] = f"HTTP {status}"
