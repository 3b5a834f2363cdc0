"""The local AWS endpoint enforces each function's role (ADR 0017): a call its role allows goes
through, one it does not is refused in AWS's words and writes nothing, item by item in a
transaction, entry by entry in PutEvents; credentials other than a function's are an admin's."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws

from referrals_local.stack import iam_enforcement, iam_roles
from referrals_local.stack.aws_endpoint import patched
from referrals_local.stack.model import REGION, Resolver, functions, parameter_defaults
from referrals_local.stack.resources import create_resources
from referrals_local.template import load_template
from support import iam

STACK = "iam-test"


def key(name: str) -> dict[str, Any]:
    return {"pk": {"S": name}, "sk": {"S": "META"}}


@functools.cache
def admin(service: str) -> Any:
    return boto3.client(  # type: ignore[call-overload]
        service, region_name=REGION, aws_access_key_id="local", aws_secret_access_key="local"
    )


@dataclass(frozen=True, eq=False)  # hashed by identity: its clients are cached
class Endpoint:
    roles_file: Path
    resolver: Resolver

    def role(self, function: str) -> dict[str, Any]:
        roles: list[dict[str, Any]] = json.loads(self.roles_file.read_text())
        return next(role for role in roles if role["function"] == function)

    @functools.cache  # noqa: B019 - one endpoint per module, its clients live as long
    def client(self, function: str, service: str) -> Any:
        role = self.role(function)
        return boto3.client(  # type: ignore[call-overload]
            service,
            region_name=REGION,
            aws_access_key_id=role["access_key_id"],
            aws_secret_access_key=role["secret_access_key"],
            aws_session_token=role["session_token"],
            config=Config(retries={"max_attempts": 1}),
        )

    def revoke(self, function: str, action: str) -> None:
        iam.revoke(self.roles_file, function, action)

    @property
    def table(self) -> str:
        return str(self.resolver.ref("ReferralsTable"))

    @property
    def table_arn(self) -> str:
        return self.resolver.get_att("ReferralsTable", "Arn")

    def session(self, function: str) -> str:
        return f"arn:aws:sts::123456789012:assumed-role/{STACK}-{function}Role/{STACK}-{function}"


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoint]:
    template = load_template()
    resolver = Resolver(STACK, parameter_defaults(template))
    with mock_aws(), patched():
        create_resources(template, resolver, admin)
        roles = iam_roles.function_roles(template, resolver, functions(template, STACK))
        roles_file = iam_roles.write_roles(tmp_path_factory.mktemp("iam"), roles)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(iam_enforcement, "ROLES", iam_enforcement.Roles(roles_file))
            yield Endpoint(roles_file, resolver)
    admin.cache_clear()


@pytest.fixture
def endpoint(running: Endpoint) -> Iterator[Endpoint]:
    """The running endpoint, its roles as SAM made them again after the test."""
    roles = running.roles_file.read_text()
    yield running
    iam.write(running.roles_file, roles)


def refused(call: Callable[[], object]) -> ClientError:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value


def test_a_call_the_role_allows_goes_through(endpoint: Endpoint) -> None:
    dynamodb = endpoint.client("InboundWebhookFunction", "dynamodb")
    dynamodb.put_item(TableName=endpoint.table, Item=key("allowed"))
    assert dynamodb.get_item(TableName=endpoint.table, Key=key("allowed"))["Item"] == key("allowed")


def test_a_revoked_permission_is_refused_as_aws_refuses_it_and_writes_nothing(endpoint: Endpoint) -> None:
    endpoint.revoke("InboundWebhookFunction", "dynamodb:PutItem")
    dynamodb = endpoint.client("InboundWebhookFunction", "dynamodb")
    error = refused(lambda: dynamodb.put_item(TableName=endpoint.table, Item=key("revoked")))
    assert error.response["Error"]["Code"] == "AccessDeniedException"
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error.response["Error"]["Message"] == (
        f"User: {endpoint.session('InboundWebhookFunction')} is not authorized to perform: "
        f"dynamodb:PutItem on resource: {endpoint.table_arn} because no identity-based policy allows "
        "the dynamodb:PutItem action"
    )
    assert "Item" not in admin("dynamodb").get_item(TableName=endpoint.table, Key=key("revoked"))
    dynamodb.get_item(TableName=endpoint.table, Key=key("revoked"))  # what the role keeps, it keeps


def test_each_item_of_a_transaction_needs_its_own_permission(endpoint: Endpoint) -> None:
    endpoint.revoke("IssueRewardFunction", "dynamodb:PutItem")
    dynamodb = endpoint.client("IssueRewardFunction", "dynamodb")
    update = {
        "TableName": endpoint.table,
        "Key": key("advocate"),
        "UpdateExpression": "SET balance = :b",
        "ExpressionAttributeValues": {":b": {"N": "1"}},
    }
    reward = {"TableName": endpoint.table, "Item": key("reward")}
    error = refused(
        lambda: dynamodb.transact_write_items(TransactItems=[{"Update": update}, {"Put": reward}])
    )
    assert error.response["Error"]["Code"] == "AccessDeniedException"
    assert "dynamodb:PutItem" in error.response["Error"]["Message"]
    for written in ("advocate", "reward"):  # not even the update, which the role allows
        assert "Item" not in admin("dynamodb").get_item(TableName=endpoint.table, Key=key(written))
    dynamodb.transact_write_items(TransactItems=[{"Update": update}])


def test_an_index_a_role_does_not_name_is_refused(endpoint: Endpoint) -> None:
    dynamodb = endpoint.client("DeliverEventsFunction", "dynamodb")
    query = {"TableName": endpoint.table, "KeyConditionExpression": "gsi1pk = :p"}
    values = {":p": {"S": "x"}}
    dynamodb.query(IndexName="gsi1", ExpressionAttributeValues=values, **query)
    error = refused(lambda: dynamodb.query(IndexName="gsi2", ExpressionAttributeValues=values, **query))
    assert f"{endpoint.table_arn}/index/gsi2" in error.response["Error"]["Message"]


def test_put_events_needs_every_entrys_bus(endpoint: Endpoint) -> None:
    events = endpoint.client("QualifyFunction", "events")
    bus = endpoint.resolver.ref("EventBus")
    entry = {"Source": "referrals", "DetailType": "referral.qualified", "Detail": "{}"}
    events.put_events(Entries=[{**entry, "EventBusName": bus}])
    error = refused(lambda: events.put_events(Entries=[{**entry, "EventBusName": bus}, entry]))
    assert error.response["Error"]["Code"] == "AccessDeniedException"
    assert "event-bus/default" in error.response["Error"]["Message"]


def test_parameters_are_judged_by_their_path(endpoint: Endpoint) -> None:
    ssm = endpoint.client("InboundWebhookFunction", "ssm")
    inside = f"/referral-engine/{STACK}/connections/c1"
    assert refused(lambda: ssm.get_parameter(Name=inside)).response["Error"]["Code"] == "ParameterNotFound"
    error = refused(lambda: ssm.get_parameter(Name=f"/referral-engine/{STACK}/api-keys"))
    assert error.response["Error"]["Code"] == "AccessDeniedException"
    put = refused(lambda: ssm.put_parameter(Name=inside, Value="s", Type="SecureString"))
    assert put.response["Error"]["Code"] == "AccessDeniedException"  # the API function writes them


def test_a_queue_the_role_does_not_name_is_refused(endpoint: Endpoint) -> None:
    sqs = endpoint.client("QualifyFunction", "sqs")
    sqs.send_message(QueueUrl=endpoint.resolver.ref("ExceptionsQueue"), MessageBody="{}")
    error = refused(
        lambda: sqs.send_message(QueueUrl=endpoint.resolver.ref("RewardEventsDLQ"), MessageBody="{}")
    )
    assert error.response["Error"]["Code"] == "AccessDenied"  # SQS's code for it
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def dynamodb_signed_with(access_key_id: str, session_token: str) -> Any:
    return boto3.client(
        "dynamodb",
        region_name=REGION,
        aws_access_key_id=access_key_id,
        aws_secret_access_key="x",
        aws_session_token=session_token,
    )


def test_a_functions_key_needs_its_session_token(endpoint: Endpoint) -> None:
    stolen = dynamodb_signed_with(endpoint.role("TrackClickFunction")["access_key_id"], "another")
    assert refused(stolen.list_tables).response["Error"]["Code"] == "UnrecognizedClientException"


def test_keys_that_are_no_functions_are_an_administrators(endpoint: Endpoint) -> None:
    developers_own_session = dynamodb_signed_with("ASIA0000000000000000", "token")
    assert endpoint.table in developers_own_session.list_tables()["TableNames"]
    assert endpoint.table in admin("dynamodb").list_tables()["TableNames"]
