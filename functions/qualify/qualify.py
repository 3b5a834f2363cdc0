"""Consumes signals from the table's stream and qualifies their referrals, exactly once.

Partial batch failure: a transient error fails only its record (retried, bisected, then sent to the
OnFailure queue by Lambda). A record that can never succeed goes to the exceptions queue with its
payload — the OnFailure message carries only stream pointers — and does not block the batch.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from referral_engine import wiring
from referral_engine.adapters.dynamodb_stream_batch import BatchResponse, StreamRecord, process_stream_batch
from referral_engine.domain.errors import PermanentSignalError
from referral_engine.domain.models import Signal
from referral_engine.domain.records import Invalid, parse
from referral_engine.observability import Count, carry, count, logger, publish_metrics
from referral_engine.services.qualification import Outcome

COUNTED = {Outcome.QUALIFIED: Count.QUALIFIED, Outcome.REVERSED: Count.REVERSED}


def process_record(record: StreamRecord) -> None:
    image = record.new_image
    carry(image.get("correlation_id"))
    try:
        signal = parse(Signal, image)
        outcome = wiring.qualification().process(signal)
    except (PermanentSignalError, Invalid) as error:
        reason = error.code if isinstance(error, PermanentSignalError) else "invalid_signal"
        wiring.exception_sink("qualify").report(
            reason=reason,
            message=str(error),
            payload={"signal": image, "stream_event_id": record.event_id},
        )
        logger.warning("signal set aside", extra={"reason": reason, "signal_pk": image.get("pk")})
        return
    logger.info("signal processed", extra={"signal_id": signal.key, "outcome": outcome.value})
    if outcome in COUNTED:
        count(COUNTED[outcome])


@publish_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> BatchResponse:
    return process_stream_batch(event, process_record)
