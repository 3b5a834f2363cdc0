"""The local stack's AWS endpoint (moto, corrected): a cancelled transaction undoes exactly its own
writes, keeps the table's stream usable, and transactions racing other writers lose nothing."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from referrals_local.stack.aws_endpoint import patched

TABLE = "endpoint-test"


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with mock_aws(), patched():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName=TABLE,
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        yield client


def put(pk: str, sk: str = "A", **attributes: str) -> dict[str, Any]:
    item = {"pk": {"S": pk}, "sk": {"S": sk}, **{name: {"S": value} for name, value in attributes.items()}}
    return {"Put": {"TableName": TABLE, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}}


def update(pk: str, sk: str, value: str) -> dict[str, Any]:
    return {
        "Update": {
            "TableName": TABLE,
            "Key": {"pk": {"S": pk}, "sk": {"S": sk}},
            "UpdateExpression": "SET v = :v",
            "ExpressionAttributeValues": {":v": {"S": value}},
        }
    }


def items(dynamodb: Any) -> dict[tuple[str, str], dict[str, Any]]:
    scanned = dynamodb.scan(TableName=TABLE)["Items"]
    return {(item["pk"]["S"], item["sk"]["S"]): item for item in scanned}


def stream_keys(iterator: str) -> list[tuple[str, str]]:
    streams = boto3.client("dynamodbstreams", region_name="us-east-1")
    records = streams.get_records(ShardIterator=iterator)["Records"]
    return [(r["eventName"], r["dynamodb"]["Keys"]["pk"]["S"]) for r in records]


def latest_iterator(dynamodb: Any) -> str:
    streams = boto3.client("dynamodbstreams", region_name="us-east-1")
    arn = dynamodb.describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator: str = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="LATEST")[
        "ShardIterator"
    ]
    return iterator


def test_a_cancelled_transaction_undoes_only_its_own_writes(dynamodb: Any) -> None:
    dynamodb.transact_write_items(TransactItems=[put("kept", v="1"), put("changed", v="before")])
    before = items(dynamodb)

    with pytest.raises(ClientError) as cancelled:
        dynamodb.transact_write_items(
            TransactItems=[
                update("changed", "A", "after"),  # applied, then undone
                put("new", v="x"),  # created, then removed
                put("kept"),  # exists: the condition fails, the transaction is cancelled
            ]
        )

    assert cancelled.value.response["Error"]["Code"] == "TransactionCanceledException"
    reasons = [reason["Code"] for reason in cancelled.value.response["CancellationReasons"]]
    assert reasons == ["None", "None", "ConditionalCheckFailed"]
    assert items(dynamodb) == before


def test_a_cancelled_delete_and_an_update_that_created_its_item_are_undone(dynamodb: Any) -> None:
    dynamodb.transact_write_items(TransactItems=[put("doomed", v="kept"), put("taken")])
    before = items(dynamodb)

    with pytest.raises(ClientError):
        dynamodb.transact_write_items(
            TransactItems=[
                {"Delete": {"TableName": TABLE, "Key": {"pk": {"S": "doomed"}, "sk": {"S": "A"}}}},
                update("created-by-update", "B", "x"),  # an Update on a missing item creates it
                put("taken"),
            ]
        )

    assert items(dynamodb) == before


def test_a_table_without_a_sort_key_is_undone_too(dynamodb: Any) -> None:
    dynamodb.create_table(
        TableName="hash-only",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.put_item(TableName="hash-only", Item={"id": {"S": "a"}, "v": {"S": "before"}})
    taken = {
        "Put": {
            "TableName": "hash-only",
            "Item": {"id": {"S": "a"}},
            "ConditionExpression": "attribute_not_exists(id)",
        }
    }
    changed = {
        "Update": {
            "TableName": "hash-only",
            "Key": {"id": {"S": "b"}},
            "UpdateExpression": "SET v = :v",
            "ExpressionAttributeValues": {":v": {"S": "new"}},
        }
    }

    with pytest.raises(ClientError):
        dynamodb.transact_write_items(TransactItems=[changed, taken])

    assert dynamodb.scan(TableName="hash-only")["Items"] == [{"id": {"S": "a"}, "v": {"S": "before"}}]


def test_the_stream_keeps_its_shard_and_shows_no_cancelled_write(dynamodb: Any) -> None:
    iterator = latest_iterator(dynamodb)
    dynamodb.transact_write_items(TransactItems=[put("first")])
    with pytest.raises(ClientError):
        dynamodb.transact_write_items(TransactItems=[put("ghost"), put("first")])
    dynamodb.transact_write_items(TransactItems=[put("second")])

    assert stream_keys(iterator) == [("INSERT", "first"), ("INSERT", "second")]


def test_transactions_racing_other_writers_lose_nothing(dynamodb: Any) -> None:
    dynamodb.transact_write_items(TransactItems=[put("taken")])
    for n in range(0, 300, 25):  # a table worth copying: moto's own backup took long enough to race
        dynamodb.transact_write_items(TransactItems=[put(f"old-{m}") for m in range(n, n + 25)])
    errors: list[BaseException] = []

    def transactions(worker: int) -> None:
        for n in range(15):
            try:
                dynamodb.transact_write_items(TransactItems=[put(f"t{worker}-{n}"), put("taken")])
            except ClientError as error:  # cancelled, as it must be: anything else is a failure
                if error.response["Error"]["Code"] != "TransactionCanceledException":
                    errors.append(error)
            except BaseException as error:
                errors.append(error)

    def writes(worker: int) -> None:
        for n in range(15):
            try:
                dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": f"w{worker}-{n}"}, "sk": {"S": "A"}})
            except BaseException as error:
                errors.append(error)

    threads = [threading.Thread(target=transactions, args=(w,)) for w in range(3)]
    threads += [threading.Thread(target=writes, args=(w,)) for w in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    stored = {pk for pk, _ in items(dynamodb)}
    old = {f"old-{m}" for m in range(300)}
    assert stored == {"taken"} | old | {f"w{w}-{n}" for w in range(3) for n in range(15)}
