"""The interfaces the REST-hook services need (kept apart from ports.py, which the core pipeline owns).

Adapters implement them for AWS and the network; unit tests pass in-memory fakes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from referral_engine.domain.hooks import HookEvent, ReferralCreated, Subscription, Target


class SubscriptionStore(Protocol):
    def add(self, subscription: Subscription) -> bool:
        """Stores it; False (and nothing written) when a subscription with its id already exists."""

    def get(self, subscription_id: str) -> Subscription | None: ...

    def remove(self, subscription_id: str) -> bool:
        """Deletes it; False when there was none."""

    def matching(self, event: HookEvent, campaign_id: str) -> list[Subscription]:
        """The subscriptions to `event` for this campaign and those for every campaign."""


class DeliveryLog(Protocol):
    """Which (subscription, event) deliveries a target has already acknowledged, so that a retry of the
    event does not post again to the targets that took it the first time."""

    def delivered(self, delivery_id: str) -> bool: ...
    def record(self, delivery_id: str, subscription_id: str, status: int) -> None: ...


class DeliveryFailed(Exception):
    """The request did not get an HTTP answer (connection refused, timeout, TLS error)."""


class HookSender(Protocol):
    def post(self, target: Target, body: bytes, headers: Mapping[str, str]) -> int:
        """POSTs to the vetted target and returns the HTTP status; never follows redirects.

        Raises DeliveryFailed when there is no answer.
        """


class CreatedEventPublisher(Protocol):
    def publish_created(self, event: ReferralCreated) -> None: ...
