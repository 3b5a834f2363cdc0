"""Subscriptions: subscribe and unsubscribe targets (Zapier's "instant" triggers), list samples for
`performList`. Delivering the events is services/deliveries.py's.

No pydantic here: the request model, `NewSubscription`, has its own module (subscription_request.py).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING

from referral_engine.domain.errors import NotFound
from referral_engine.domain.models import Referral, ReferralStatus, utcnow
from referral_engine.domain.subscriptions import (
    DeliveryPayload,
    Subscription,
    SubscriptionEvent,
    TargetPolicy,
    example_payload,
    occurred_at,
    subscription_id,
)
from referral_engine.ports import (
    CampaignStore,
    ParticipantStore,
    ReferralSort,
    ReferralStore,
    SubscriptionStore,
)

if TYPE_CHECKING:
    from referral_engine.services.subscription_request import NewSubscription

MAX_SAMPLES = 10
SUBSCRIPTION_ID = re.compile(r"^hks_[0-9a-f]{32}$")
SAMPLE_CAMPAIGNS = 10  # without a campaign, samples come from the most recent campaigns
REVERSED_SCAN = 100  # qualified referrals read per campaign to find reversed ones for samples


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
