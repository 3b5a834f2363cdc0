"""Delivers `referral.created`, `.qualified` and `.reversed` to the REST-hook subscriptions (Zapier's
instant triggers "new referral", "referral qualified", "referral reversed").

Invoked asynchronously by the bus rule: POSTs the referral's payload to every matching subscription.
A target answering 410 Gone is unsubscribed; any other failure raises after every target was tried,
so Lambda retries the event (targets that already took it are skipped) and finally sends it to the
OnFailure queue.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict

from referral_engine import wiring
from referral_engine.domain.hooks import HOOK_EVENTS, HookEvent, occurred_at
from referral_engine.observability import carry, logger


class HookTrigger(BaseModel):
    """What delivery needs of a bus event's detail: whose referral, and when it happened."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    referral_id: str
    campaign_id: str
    joined_at: datetime | None = None
    qualified_at: datetime | None = None
    reversed_at: datetime | None = None
    correlation_id: str | None = None


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    bus_event = EventBridgeEvent(event)
    kind = bus_event.detail_type
    if kind not in HOOK_EVENTS:
        logger.warning("event ignored: not a hook event", extra={"detail_type": kind})
        return {"outcome": "ignored"}
    hook_event: HookEvent = kind
    trigger = HookTrigger.model_validate(bus_event.detail)
    carry(trigger.correlation_id)
    at = occurred_at(hook_event, trigger)
    if at is None:
        raise ValueError(f"{hook_event} event without its time")
    report = wiring.hook_delivery().deliver(
        hook_event, trigger.referral_id, at, campaign_id=trigger.campaign_id
    )
    summary = report.summary()
    logger.info(
        "hook event delivered", extra={"event": hook_event, "referral_id": trigger.referral_id, **summary}
    )
    return {"event": hook_event, "referral_id": trigger.referral_id, **summary}
