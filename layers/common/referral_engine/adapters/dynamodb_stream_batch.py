"""A batch of the table's stream records, as Lambda hands it to qualify and announce_referrals: each record
to its handler, and the partial batch response (`ReportBatchItemFailures`) naming the records that failed.

It answers as Powertools' `process_partial_response` does for DynamoDB streams, without its batch
utility (asyncio and every event source's data classes: ~40 ms of cold start). Re-reading the records
an OnFailure message points at is adapters/dynamodb_streams.py's job.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple, TypedDict

from referral_engine.adapters.dynamodb.codec import from_item
from referral_engine.observability import logger


class StreamRecord(NamedTuple):
    """What a record handler reads of one stream record."""

    event_id: str | None
    new_image: dict[str, Any]  # plain values (codec.from_item); {} for a record without one (a REMOVE)
    old_image: dict[str, Any] = {}  # noqa: RUF012  (never mutated) {} for an INSERT


class ItemFailure(TypedDict):
    itemIdentifier: str


class BatchResponse(TypedDict):
    batchItemFailures: list[ItemFailure]


class EntireBatchFailed(Exception):
    """Every record failed: the invocation fails, so Lambda retries the batch (bisecting it)."""


class NotAStreamBatch(ValueError):
    """The event holds no list of records (Lambda never invokes a stream consumer with an empty batch)."""


def process_stream_batch(event: Mapping[str, Any], handle: Callable[[StreamRecord], object]) -> BatchResponse:
    """Hands each record to `handle`, in order; a record whose decoding or handling raises is logged with
    its traceback and reported for a retry, and does not stop the others. Raises `EntireBatchFailed`
    when no record succeeded."""
    records = event.get("Records")
    if not records or not isinstance(records, list):
        raise NotAStreamBatch("the event is not a batch of DynamoDB stream records")
    failures: list[ItemFailure] = []
    for raw in records:
        stream = raw["dynamodb"]
        sequence_number: str = stream["SequenceNumber"]  # without it, the invocation fails: a whole retry
        try:
            handle(
                StreamRecord(
                    event_id=raw.get("eventID"),
                    new_image=from_item(stream.get("NewImage", {})),
                    old_image=from_item(stream.get("OldImage", {})),
                )
            )
        except Exception:
            logger.warning(
                "stream record failed; Lambda retries it",
                extra={"sequence_number": sequence_number},
                exc_info=True,
            )
            failures.append({"itemIdentifier": sequence_number})
    if len(failures) == len(records):
        raise EntireBatchFailed(f"all {len(records)} records of the batch failed (each logged above)")
    return {"batchItemFailures": failures}
