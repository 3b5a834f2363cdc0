"""The click path: one conditional UpdateItem counts the click and returns the redirect target.

Deliberately free of pydantic and the other adapters, to keep track_click's cold start small.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from referral_engine.adapters.dynamodb.keys import participant

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def count_click(client: DynamoDBClient, table_name: str, code: str, at_iso: str) -> str | None:
    """Returns the landing URL of the participant owning `code`, or None when there is none."""
    try:
        response = client.update_item(
            TableName=table_name,
            Key={name: {"S": value} for name, value in participant(code).items()},
            UpdateExpression="ADD clicks :one SET last_click_at = :at",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":one": {"N": "1"}, ":at": {"S": at_iso}},
            ReturnValues="ALL_NEW",
        )
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return None
        raise
    return response["Attributes"]["landing_url"]["S"]
