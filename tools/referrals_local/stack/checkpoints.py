"""Where each DynamoDB event source mapping stopped reading its stream, kept as Lambda keeps it: with
the stream's data, here a hidden table on the local endpoint, so a snapshot (ADR 0013) holds the
records and the position together and a restart neither repeats what was done nor skips the rest."""

from __future__ import annotations

import contextlib
from typing import Any

TABLE = "local-stream-checkpoints"


class StreamCheckpoints:
    def __init__(self, dynamodb: Any) -> None:
        self._dynamodb = dynamodb

    def ensure_table(self) -> None:
        with contextlib.suppress(self._dynamodb.exceptions.ResourceInUseException):  # kept from the last run
            self._dynamodb.create_table(
                TableName=TABLE,
                KeySchema=[{"AttributeName": "mapping", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "mapping", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )

    def load(self, mapping: str) -> dict[str, str]:
        """Shard id → the last sequence number handled (processed, filtered out or sent OnFailure)."""
        item = self._dynamodb.get_item(
            TableName=TABLE, Key={"mapping": {"S": mapping}}, ConsistentRead=True
        ).get("Item")
        return {shard: value["S"] for shard, value in item["positions"]["M"].items()} if item else {}

    def save(self, mapping: str, positions: dict[str, str]) -> None:
        self._dynamodb.put_item(
            TableName=TABLE,
            Item={
                "mapping": {"S": mapping},
                "positions": {"M": {shard: {"S": sequence} for shard, sequence in positions.items()}},
            },
        )
