"""Outbound REST hooks (Zapier's instant triggers "new referral", "referral qualified", "referral reversed").

Two triggers, two jobs:
- the table's stream, filtered to referral INSERTs: announce each new referral as `referral.created`
  on the bus (one PutEvents; no HTTP here, so a slow or failing target never holds up the shard);
- the bus rule for `referral.created`, `.qualified` and `.reversed` (asynchronous invocation): POST the
  referral's payload to every matching subscription. A target answering 410 Gone is unsubscribed;
  any other failure raises after every target was tried, so Lambda retries the event (targets that
  already took it are skipped) and finally sends it to the OnFailure queue.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, ValidationError

from referral_engine import wiring
from referral_engine.adapters.dynamodb.codec import from_item
from referral_engine.domain.hooks import HOOK_EVENTS, HookEvent, occurred_at
from referral_engine.domain.models import Referral

logger = Logger()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


class HookTrigger(BaseModel):
    """What delivery needs of a hook event's detail: whose referral, and when it happened."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    referral_id: str
    campaign_id: str
    joined_at: datetime | None = None
    qualified_at: datetime | None = None
    reversed_at: datetime | None = None


def announce_record(record: DynamoDBRecord) -> str:
    image = from_item(record.raw_event["dynamodb"]["NewImage"])
    try:
        referral = Referral.model_validate(image)
    except ValidationError:
        # Retrying cannot fix the item; there is no hook payload to build from it either.
        logger.error("referral item not announced: not a valid referral", extra={"pk": image.get("pk")})
        return "invalid_referral"
    wiring.referral_announcer().announce(referral)
    logger.info("referral announced", extra={"referral_id": referral.id})
    return "announced"


def deliver(event: dict[str, Any]) -> dict[str, Any]:
    kind = event.get("detail-type")
    if kind not in HOOK_EVENTS:
        logger.warning("event ignored: not a hook event", extra={"detail_type": kind})
        return {"outcome": "ignored"}
    hook_event: HookEvent = kind
    trigger = HookTrigger.model_validate(event["detail"])
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


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> Any:
    if "Records" in event:
        response: PartialItemFailureResponse = process_partial_response(
            event=event, record_handler=announce_record, processor=processor, context=context
        )
        return response
    return deliver(event)
