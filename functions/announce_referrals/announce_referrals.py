"""Announces every new referral as `referral.created` on the bus, from the table's stream (filtered to
referral INSERTs): one PutEvents per referral, no HTTP here, so a slow subscription target never holds up
the shard (functions/deliver_events delivers the event).

Partial batch failure: a record whose event the bus refused is retried (bisected, then its stream
pointers go to the OnFailure queue); an item that is not a valid referral is logged and skipped.
"""

from __future__ import annotations

from typing import Any

# No pydantic on this path (services/announcements.py); were it imported first, batch would build
# Powertools' parser models (tests/unit/test_cold_imports.py).
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from referral_engine import wiring
from referral_engine.observability import carry, logger
from referral_engine.services.announcements import InvalidReferralItem

processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def announce_record(record: DynamoDBRecord) -> str:
    image = record.dynamodb.new_image if record.dynamodb else {}
    carry(image.get("correlation_id"))
    try:
        announced = wiring.stream_announcer().announce_item(image)
    except InvalidReferralItem as error:
        # Retrying cannot fix the item; there is no event to build from it either.
        logger.error(
            "referral item not announced: not a valid referral",
            extra={"pk": image.get("pk"), "why": str(error)},
        )
        return "invalid_referral"
    logger.info("referral announced", extra={"referral_id": announced.referral_id})
    return "announced"


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=announce_record, processor=processor, context=context
    )
