"""DynamoDB stream records as Lambda receives them: read from moto's stream, filtered like Lambda's
event filtering does with the template's FilterCriteria."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any


def matches(pattern: Any, value: Any) -> bool:
    """EventBridge-style matching for the subset our templates use: nested objects and exact-value lists."""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(
            name in value and matches(inner, value[name]) for name, inner in pattern.items()
        )
    if isinstance(pattern, list):
        return value in pattern
    raise ValueError(f"unsupported filter pattern {pattern!r}")


def filter_patterns(event_properties: dict[str, Any]) -> list[dict[str, Any]]:
    filters = event_properties.get("FilterCriteria", {}).get("Filters", [])
    return [json.loads(entry["Pattern"]) for entry in filters]


def as_lambda_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """The Streams API gives ApproximateCreationDateTime as a datetime; Lambda passes epoch seconds."""
    dynamodb = dict(record["dynamodb"])
    created = dynamodb.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        dynamodb["ApproximateCreationDateTime"] = float(int(created.timestamp()))
    return {**record, "dynamodb": dynamodb, "eventSourceARN": stream_arn}


class StreamReader:
    """Reads new records from every shard of a table's stream, remembering where it stopped."""

    def __init__(self, streams_client: Any, stream_arn: str, patterns: list[dict[str, Any]]) -> None:
        self._client = streams_client
        self._arn = stream_arn
        self._patterns = patterns
        self._iterators: dict[str, str] = {}

    def read(self) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        shards = self._client.describe_stream(StreamArn=self._arn)["StreamDescription"]["Shards"]
        for shard in shards:
            shard_id = shard["ShardId"]
            iterator = (
                self._iterators.get(shard_id)
                or self._client.get_shard_iterator(
                    StreamArn=self._arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]
            )
            response = self._client.get_records(ShardIterator=iterator)
            self._iterators[shard_id] = response["NextShardIterator"]
            records.extend(as_lambda_record(record, self._arn) for record in response["Records"])
        return [r for r in records if not self._patterns or any(matches(p, r) for p in self._patterns)]

    def batch(self) -> dict[str, Any]:
        return {"Records": self.read()}
