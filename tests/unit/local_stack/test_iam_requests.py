"""What each request to the local AWS endpoint must be allowed to do: the IAM action and resource ARN
of every operation the functions call, per item for transactions and batches (ADR 0017)."""

from __future__ import annotations

from typing import Any

import pytest

from referrals_local.stack.iam_requests import Authorisation, Request, authorisations

ACCOUNT = "123456789012"
TABLE = f"arn:aws:dynamodb:eu-west-1:{ACCOUNT}:table/referrals"
OTHER = f"arn:aws:dynamodb:eu-west-1:{ACCOUNT}:table/other"
STREAM = f"{TABLE}/stream/2026-12-03T00:00:00.000"
BUS = f"arn:aws:events:eu-west-1:{ACCOUNT}:event-bus/referrals"
DEFAULT_BUS = f"arn:aws:events:eu-west-1:{ACCOUNT}:event-bus/default"
PARAMETER = f"arn:aws:ssm:eu-west-1:{ACCOUNT}:parameter/referral-engine/s/connections/c1"
QUEUE_URL = f"http://127.0.0.1:4566/{ACCOUNT}/exceptions"
QUEUE = f"arn:aws:sqs:eu-west-1:{ACCOUNT}:exceptions"
KEY = {"pk": {"S": "a"}, "sk": {"S": "b"}}

CASES: list[tuple[str, str, dict[str, Any], list[Authorisation]]] = [
    ("dynamodb", "GetItem", {"TableName": "referrals", "Key": KEY}, [("dynamodb:GetItem", TABLE)]),
    ("dynamodb", "UpdateItem", {"TableName": TABLE, "Key": KEY}, [("dynamodb:UpdateItem", TABLE)]),
    ("dynamodb", "Query", {"TableName": "referrals"}, [("dynamodb:Query", TABLE)]),
    (
        "dynamodb",
        "Query",
        {"TableName": "referrals", "IndexName": "gsi1"},
        [("dynamodb:Query", f"{TABLE}/index/gsi1")],
    ),
    (
        "dynamodb",
        "TransactWriteItems",
        {
            "TransactItems": [
                {"Put": {"TableName": "referrals", "Item": KEY}},
                {"Update": {"TableName": "other", "Key": KEY}},
                {"Delete": {"TableName": "referrals", "Key": KEY}},
                {"ConditionCheck": {"TableName": "referrals", "Key": KEY}},
            ]
        },
        [
            ("dynamodb:PutItem", TABLE),
            ("dynamodb:UpdateItem", OTHER),
            ("dynamodb:DeleteItem", TABLE),
            ("dynamodb:ConditionCheckItem", TABLE),
        ],
    ),
    (
        "dynamodb",
        "TransactGetItems",
        {"TransactItems": [{"Get": {"TableName": "referrals", "Key": KEY}}, {"Get": {"TableName": "other"}}]},
        [("dynamodb:GetItem", TABLE), ("dynamodb:GetItem", OTHER)],
    ),
    (
        "dynamodb",
        "BatchGetItem",
        {"RequestItems": {"referrals": {"Keys": [KEY]}, "other": {"Keys": [KEY]}}},
        [("dynamodb:BatchGetItem", TABLE), ("dynamodb:BatchGetItem", OTHER)],
    ),
    (
        "dynamodb",
        "BatchWriteItem",
        {"RequestItems": {"other": [{"PutRequest": {"Item": KEY}}]}},
        [("dynamodb:BatchWriteItem", OTHER)],
    ),
    ("dynamodb", "ListTables", {}, [("dynamodb:ListTables", "*")]),
    (
        "dynamodb",
        "GetShardIterator",
        {"StreamArn": STREAM, "ShardId": "s1", "ShardIteratorType": "TRIM_HORIZON"},
        [("dynamodb:GetShardIterator", STREAM)],
    ),
    ("dynamodb", "GetRecords", {"ShardIterator": f"{STREAM}|1|AAAA"}, [("dynamodb:GetRecords", STREAM)]),
    (
        "events",
        "PutEvents",
        {"Entries": [{"EventBusName": "referrals"}, {"EventBusName": BUS}, {"Source": "x"}]},
        [("events:PutEvents", BUS), ("events:PutEvents", DEFAULT_BUS)],
    ),
    (
        "ssm",
        "GetParameter",
        {"Name": "/referral-engine/s/connections/c1", "WithDecryption": True},
        [("ssm:GetParameter", PARAMETER)],
    ),
    (
        "ssm",
        "GetParameter",
        {"Name": "/referral-engine/s/connections/c1:2"},
        [("ssm:GetParameter", PARAMETER)],
    ),
    (
        "ssm",
        "GetParameters",
        {"Names": ["/referral-engine/s/connections/c1", "plain"]},
        [
            ("ssm:GetParameters", PARAMETER),
            ("ssm:GetParameters", f"arn:aws:ssm:eu-west-1:{ACCOUNT}:parameter/plain"),
        ],
    ),
    ("ssm", "PutParameter", {"Name": PARAMETER, "Value": "x"}, [("ssm:PutParameter", PARAMETER)]),
    (
        "ssm",
        "DeleteParameter",
        {"Name": "/referral-engine/s/connections/c1"},
        [("ssm:DeleteParameter", PARAMETER)],
    ),
    ("sqs", "SendMessage", {"QueueUrl": QUEUE_URL, "MessageBody": "x"}, [("sqs:SendMessage", QUEUE)]),
    (
        "sqs",
        "ChangeMessageVisibilityBatch",
        {"QueueUrl": QUEUE_URL},
        [("sqs:ChangeMessageVisibility", QUEUE)],
    ),
    ("sqs", "DeleteMessageBatch", {"QueueUrl": QUEUE_URL}, [("sqs:DeleteMessage", QUEUE)]),
    ("sqs", "GetQueueUrl", {"QueueName": "exceptions"}, [("sqs:GetQueueUrl", QUEUE)]),
    ("sqs", "ListQueues", {}, [("sqs:ListQueues", "*")]),
    ("sts", "GetCallerIdentity", {}, []),
    ("logs", "PutLogEvents", {}, [("logs:PutLogEvents", "*")]),
]


@pytest.mark.parametrize(
    ("service", "operation", "params", "expected"),
    CASES,
    ids=[f"{service}:{operation}-{index}" for index, (service, operation, _, _) in enumerate(CASES)],
)
def test_each_operation_is_authorised_on_the_resources_it_touches(
    service: str, operation: str, params: dict[str, Any], expected: list[Authorisation]
) -> None:
    assert authorisations(Request(service, operation, params, "eu-west-1", ACCOUNT)) == expected
