"""Where Powertools' Idempotency utility keeps the answers to `Idempotency-Key` requests: the one table.

Its records follow the table's layout (docs/data-model.md): the key in `pk`/`sk`, DynamoDB's TTL on
`expires_at` (epoch seconds, as the signals' dedupe records), and no `entity`, so no stream filter
passes them on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

from referral_engine.adapters.dynamodb import keys

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def idempotency_records(client: DynamoDBClient, table_name: str) -> DynamoDBPersistenceLayer:
    return DynamoDBPersistenceLayer(
        table_name=table_name,
        key_attr="pk",
        sort_key_attr="sk",
        static_pk_value=keys.IDEMPOTENCY,
        expiry_attr="expires_at",
        boto3_client=client,
    )
