"""Subscriptions: subscribe and unsubscribe targets (Zapier's "instant" triggers), list samples for
`performList`, announce new referrals, and deliver events to every matching target.

Delivery is at least once: an event is retried (by Lambda) until every target has answered 2xx or 410,
and the targets that already took it are not posted to again (the delivery log). Every attempt at one
(subscription, event) carries the same delivery id, for the receiver to drop a rare duplicate.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints, field_validator

from referral_engine.domain.errors import NotFound
from referral_engine.domain.models import Referral, ReferralStatus, utcnow
from referral_engine.domain.subscriptions import (
    DELIVERY_ID_HEADER,
    EVENT_HEADER,
    MAX_TARGET_URL_LENGTH,
    DeliveryPayload,
    Subscription,
    SubscriptionEvent,
    TargetPolicy,
    TargetRefused,
    delivery_id,
    example_payload,
    occurred_at,
    subscription_id,
)
from referral_engine.ports import (
    CampaignStore,
    DeliveryFailed,
    DeliveryLog,
    DeliverySender,
    ParticipantStore,
    ReferralSort,
    ReferralStore,
    SubscriptionStore,
)

USER_AGENT = "referral-engine-hooks/1"  # on the wire since the first release: receivers may filter on it
MAX_SAMPLES = 10
SUBSCRIPTION_ID = re.compile(r"^hks_[0-9a-f]{32}$")
SAMPLE_CAMPAIGNS = 10  # without a campaign, samples come from the most recent campaigns
REVERSED_SCAN = 100  # qualified referrals read per campaign to find reversed ones for samples


class NewSubscription(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target_url: Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_TARGET_URL_LENGTH)]
    event: SubscriptionEvent
    campaign_id: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] | None = None

    @field_validator("campaign_id")
    @classmethod
    def _blank_is_every_campaign(cls, value: str | None) -> str | None:
        return value or None  # Zapier sends an optional input left empty as ""


class SubscriptionService:
    def __init__(
        self,
        campaigns: CampaignStore,
        participants: ParticipantStore,
        referrals: ReferralStore,
        subscriptions: SubscriptionStore,
        policy: TargetPolicy,
    ) -> None:
        self._campaigns = campaigns
        self._participants = participants
        self._referrals = referrals
        self._subscriptions = subscriptions
        self._policy = policy

    def subscribe(self, request: NewSubscription, *, base_url: str) -> tuple[Subscription, bool]:
        """Returns the subscription and whether it is new: the same (event, campaign, target) again
        returns the first one. Raises TargetRefused (nothing written) for a target we will not call."""
        self._policy.vet(request.target_url)
        if request.campaign_id is not None and self._campaigns.get(request.campaign_id) is None:
            raise NotFound(f"no campaign {request.campaign_id}")
        subscription = Subscription(
            id=subscription_id(request.event, request.campaign_id, request.target_url),
            event=request.event,
            campaign_id=request.campaign_id,
            target_url=request.target_url,
            base_url=base_url,
            created_at=utcnow(),
        )
        for _ in range(2):  # twice: once more if it was unsubscribed between our put and our read
            if self._subscriptions.add(subscription):
                return subscription, True
            existing = self._subscriptions.get(subscription.id)
            if existing is not None:
                return existing, False
        raise RuntimeError(f"subscription {subscription.id} keeps appearing and disappearing")

    def unsubscribe(self, subscription_id: str) -> bool:
        """Idempotent: unsubscribing a subscription that is already gone (say, after its target answered 410)
        is not an error, or Zapier would report a failure when a Zap is switched off. Returns whether
        there was one."""
        if not SUBSCRIPTION_ID.fullmatch(subscription_id):
            return False  # not one of ours: nothing to look up
        return self._subscriptions.remove(subscription_id)

    def samples(
        self, event: SubscriptionEvent, *, campaign_id: str | None, limit: int, base_url: str
    ) -> list[DeliveryPayload]:
        """The most recent real items of this kind (as a delivery would carry them now), newest first;
        one fixed example when there are none yet."""
        limit = max(1, min(limit, MAX_SAMPLES))
        if campaign_id is not None:
            if self._campaigns.get(campaign_id) is None:
                raise NotFound(f"no campaign {campaign_id}")
            campaign_ids = [campaign_id]
        else:
            campaign_ids = [c.id for c in self._campaigns.recent(limit=SAMPLE_CAMPAIGNS, cursor=None).items]
        sort: ReferralSort = "joined_at" if event == "referral.created" else "qualified_at"
        # A reversed referral stays in the qualified index: read further back for the few there are.
        status, scanned = (
            (ReferralStatus.REVERSED, REVERSED_SCAN) if event == "referral.reversed" else (None, limit)
        )
        found: list[Referral] = []
        for campaign in campaign_ids:
            page = self._referrals.page(
                campaign, status=status, sort=sort, descending=True, limit=scanned, cursor=None
            )
            found.extend(page.items)

        def newest(referral: Referral) -> datetime:
            return occurred_at(event, referral) or referral.joined_at

        found.sort(key=newest, reverse=True)
        payloads = [
            DeliveryPayload.of(event, referral, self._participants.get(referral.advocate_code), base_url)
            for referral in found[:limit]
        ]
        return payloads or [example_payload(event, base_url)]


# ------------------------------------------------------------------------------------ delivery


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
