"""Reading a DynamoDB stream the way Lambda's event source mapping does, records in Lambda's shape."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def as_lambda_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """The Streams API gives ApproximateCreationDateTime as a datetime; Lambda passes epoch seconds
    and adds the stream's ARN as `eventSourceARN`."""
    dynamodb = dict(record["dynamodb"])
    created = dynamodb.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        dynamodb["ApproximateCreationDateTime"] = float(int(created.timestamp()))
    return {**record, "dynamodb": dynamodb, "eventSourceARN": stream_arn}


class StreamReader:
    """Reads new records from every shard of a stream, remembering where each shard stopped.

    Each read asks for a fresh iterator after the last sequence number seen, so a reader survives a
    shard that was replaced (plain moto replaces the table, and its shard, on a cancelled transaction;
    the local stack's endpoint does not, see aws_endpoint.py).
    """

    def __init__(
        self,
        streams_client: Any,
        stream_arn: str,
        *,
        starting_position: str = "TRIM_HORIZON",
        after: dict[str, str] | None = None,
    ) -> None:
        """`after`: shard id → sequence number to resume after (a checkpoint); other shards start at
        `starting_position`."""
        self._client = streams_client
        self.stream_arn = stream_arn
        self._starting_position = starting_position
        self._last: dict[str, str] = dict(after or {})  # shard id → last sequence number read
        self._waiting: dict[str, str] = {}  # shard id → iterator, until its first record (LATEST)

    def _iterator(self, shard_id: str) -> str:
        if shard_id in self._last:
            response = self._client.get_shard_iterator(
                StreamArn=self.stream_arn,
                ShardId=shard_id,
                ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                SequenceNumber=self._last[shard_id],
            )
        elif shard_id in self._waiting and self._starting_position == "LATEST":
            return self._waiting[shard_id]
        else:
            response = self._client.get_shard_iterator(
                StreamArn=self.stream_arn, ShardId=shard_id, ShardIteratorType=self._starting_position
            )
        return str(response["ShardIterator"])

    @property
    def positions(self) -> dict[str, str]:
        """Shard id → the last sequence number read."""
        return dict(self._last)

    def read(self) -> list[tuple[str, dict[str, Any]]]:
        """(shard id, Lambda-shaped record) for every record written since the last read."""
        records: list[tuple[str, dict[str, Any]]] = []
        shards = self._client.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"]
        for shard in shards:
            shard_id = shard["ShardId"]
            response = self._client.get_records(ShardIterator=self._iterator(shard_id))
            if response["Records"]:
                self._last[shard_id] = response["Records"][-1]["dynamodb"]["SequenceNumber"]
                self._waiting.pop(shard_id, None)
            elif shard_id not in self._last:
                self._waiting[shard_id] = response["NextShardIterator"]
            records.extend((shard_id, as_lambda_record(r, self.stream_arn)) for r in response["Records"])
        return records
