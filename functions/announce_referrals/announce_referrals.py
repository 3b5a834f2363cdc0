"""Announces every new referral as `referral.created` on the bus, from the table's stream (filtered to
referral INSERTs): one PutEvents per referral, no HTTP here, so a slow subscription target never holds up
the shard (functions/deliver_events delivers the event). A referral's moves into and out of review
(INSERTs and MODIFYs the filter lets through) are announced as `referral.in_review`, `.approved`,
`.rejected` (docs/adr/0019).

Partial batch failure: a record whose event the bus refused is retried (bisected, then its stream
pointers go to the OnFailure queue); an item that is not a valid referral is logged and skipped.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from referral_engine import wiring
from referral_engine.adapters.dynamodb_stream_batch import BatchResponse, StreamRecord, process_stream_batch
from referral_engine.observability import carry, logger
from referral_engine.services.announcements import InvalidReferralItem


def announce_record(record: StreamRecord) -> None:
    image = record.new_image
    carry(image.get("correlation_id"))
    try:
        if not record.old_image:
            announced = wiring.stream_announcer().announce_item(image)
            logger.info("referral announced", extra={"referral_id": announced.referral_id})
        review = wiring.review_announcer().announce_change(record.old_image, image)
    except InvalidReferralItem as error:
        # Retrying cannot fix the item; there is no event to build from it either.
        logger.error(
            "referral item not announced: not a valid referral",
            extra={"pk": image.get("pk"), "why": str(error)},
        )
        return
    if review is not None:
        logger.info(
            "review move announced", extra={"referral_id": review.referral_id, "event": review.detail_type}
        )


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> BatchResponse:
    return process_stream_batch(event, announce_record)
