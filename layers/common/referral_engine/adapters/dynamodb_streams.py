"""DynamoDB Streams: re-reading the table stream's records that a stream OnFailure message (qualify's,
announce_referrals') points at.

The OnFailure record carries only the shard and the sequence range; DynamoDB keeps stream records for
24 hours, after which the batch can no longer be read and must be handled by hand.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from referral_engine.adapters.dynamodb.codec import from_item
from referral_engine.ports import StreamRecordsGone

MAX_READS = 200
MAX_EMPTY_READS = 3
_GONE = {"TrimmedDataAccessException", "ResourceNotFoundException", "ExpiredIteratorException"}


def _gone(batch: dict[str, Any], why: str) -> StreamRecordsGone:
    return StreamRecordsGone(
        f"the stream records {batch.get('startSequenceNumber')}..{batch.get('endSequenceNumber')} can no "
        f"longer be read ({why}); DynamoDB keeps stream records for 24 hours. The message stays in the "
        "queue: find the signal by hand, then discard the message with a reason"
    )


def read_batch(streams: Any, batch: dict[str, Any]) -> list[dict[str, Any]]:
    """The stream records from startSequenceNumber to endSequenceNumber of `DDBStreamBatchInfo`."""
    try:
        arn, shard = batch["streamArn"], batch["shardId"]
        start, end = int(batch["startSequenceNumber"]), int(batch["endSequenceNumber"])
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"the message has no usable stream pointers ({error!r})") from error
    try:
        iterator: str | None = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard, ShardIteratorType="AT_SEQUENCE_NUMBER", SequenceNumber=str(start)
        )["ShardIterator"]
        records: list[dict[str, Any]] = []
        empty = 0
        for _ in range(MAX_READS):
            if iterator is None or empty >= MAX_EMPTY_READS:
                break
            response = streams.get_records(ShardIterator=iterator, Limit=1000)
            page = response.get("Records", [])
            empty = 0 if page else empty + 1
            records.extend(r for r in page if start <= int(r["dynamodb"]["SequenceNumber"]) <= end)
            if any(int(r["dynamodb"]["SequenceNumber"]) >= end for r in page):
                break
            iterator = response.get("NextShardIterator")
    except ClientError as error:
        if error.response["Error"]["Code"] in _GONE:
            raise _gone(batch, error.response["Error"]["Code"]) from error
        raise
    if not records or int(records[0]["dynamodb"]["SequenceNumber"]) != start:
        raise _gone(batch, "the first record is not in the stream")
    return records


def _inserted_images(records: list[dict[str, Any]], entity: str) -> list[dict[str, Any]]:
    return [
        from_item(record["dynamodb"]["NewImage"])
        for record in records
        if record.get("eventName") == "INSERT"
        and record.get("dynamodb", {}).get("NewImage", {}).get("entity", {}).get("S") == entity
    ]


Change = tuple[dict[str, Any], dict[str, Any]]  # an item's old and new images


def _modified_images(records: list[dict[str, Any]], entity: str) -> list[Change]:
    return [
        (from_item(record["dynamodb"].get("OldImage", {})), from_item(record["dynamodb"]["NewImage"]))
        for record in records
        if record.get("eventName") == "MODIFY"
        and record.get("dynamodb", {}).get("NewImage", {}).get("entity", {}).get("S") == entity
    ]


class DynamoStreamRecords:
    def __init__(self, streams: Any) -> None:  # no type stubs are installed for dynamodbstreams
        self._streams = streams

    def inserted(self, pointers: dict[str, Any], entity: str) -> list[dict[str, Any]]:
        return _inserted_images(read_batch(self._streams, pointers), entity)

    def modified(self, pointers: dict[str, Any], entity: str) -> list[Change]:
        return _modified_images(read_batch(self._streams, pointers), entity)
