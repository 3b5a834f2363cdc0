"""Delivers `referral.created`, `.qualified` and `.reversed` to the subscriptions (Zapier's
instant triggers "new referral", "referral qualified", "referral reversed").

Invoked asynchronously by the bus rule: POSTs the referral's payload to every matching subscription.
A target answering 410 Gone is unsubscribed; any other failure raises after every target was tried,
so Lambda retries the event (targets that already took it are skipped) and finally sends it to the
OnFailure queue.

The event is read as the plain dict it is, without pydantic or Powertools' data classes: both would
cost the cold start more than its budget (domain/records.py).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from referral_engine import wiring
from referral_engine.domain.records import parse
from referral_engine.domain.subscriptions import (
    SUBSCRIPTION_EVENTS,
    DeliveryTrigger,
    SubscriptionEvent,
    occurred_at,
)
from referral_engine.observability import carry, logger


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    detail_type = event.get("detail-type")
    if detail_type not in SUBSCRIPTION_EVENTS:
        logger.warning("event ignored: no subscription can ask for it", extra={"detail_type": detail_type})
        return {"outcome": "ignored"}
    name: SubscriptionEvent = detail_type
    trigger = parse(DeliveryTrigger, event.get("detail"))
    carry(trigger.correlation_id)
    at = occurred_at(name, trigger)
    if at is None:
        raise ValueError(f"{name} event without its time")
    report = wiring.event_delivery().deliver(name, trigger.referral_id, at, campaign_id=trigger.campaign_id)
    summary = report.summary()
    logger.info("event delivered", extra={"event": name, "referral_id": trigger.referral_id, **summary})
    return {"event": name, "referral_id": trigger.referral_id, **summary}
