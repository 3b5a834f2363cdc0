"""Which stack the admin works on, and boto3 clients for it.

The local stack (default) is found through its state file and reached with dummy credentials at its
moto endpoint; a deployed stack is found by its CloudFormation outputs with the operator's own
credentials (`--profile`, `--region`, `--stack`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from referral_engine.adapters.dynamodb.table import Table
from referrals_local.outputs import StackNotFound, StackOutputs

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_sqs import SQSClient

DEFAULT_STACK = "referral-engine"
LOCAL_OPERATOR = "local"
LOCAL_CREDENTIALS = "testing"  # moto accepts any; these are never real


def _config(*, local: bool) -> Config:
    # botocore >= 1.44.4 would address DynamoDB Streams by account id, which moto does not route.
    if local:
        # A stopped local stack should fail in a second or two, not after minutes of retries.
        return Config(
            account_id_endpoint_mode="disabled",
            connect_timeout=2,
            read_timeout=30,
            retries={"total_max_attempts": 2, "mode": "standard"},
        )
    return Config(account_id_endpoint_mode="disabled", retries={"mode": "standard"})


@dataclass
class Target:
    """A located stack: its outputs and a session to reach it."""

    outputs: StackOutputs
    session: boto3.Session
    local: bool
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            endpoint = self.outputs.endpoint_url if self.local else None
            self._clients[service] = self.session.client(
                service,  # type: ignore[call-overload]
                region_name=self.outputs.region,
                endpoint_url=endpoint,
                config=_config(local=self.local),
            )
        return self._clients[service]

    @property
    def dynamodb(self) -> DynamoDBClient:
        client: DynamoDBClient = self.client("dynamodb")
        return client

    @property
    def sqs(self) -> SQSClient:
        client: SQSClient = self.client("sqs")
        return client

    @property
    def events(self) -> EventBridgeClient:
        client: EventBridgeClient = self.client("events")
        return client

    @property
    def streams(self) -> Any:  # no type stubs are installed for dynamodbstreams
        return self.client("dynamodbstreams")

    @cached_property
    def table(self) -> Table:
        return Table(self.dynamodb, self.outputs.table_name)

    @cached_property
    def operator(self) -> str:
        """Who acts, for the admin log: the caller's IAM ARN on AWS, `local` on the local stack."""
        if self.local:
            return LOCAL_OPERATOR
        return str(self.client("sts").get_caller_identity()["Arn"])

    @property
    def where(self) -> str:
        return f"the local stack at {self.outputs.endpoint_url}" if self.local else "the stack"


def local_target(state_dir: Path) -> Target:
    """Raises StackNotFound (with the hint to start it) when no local stack has written its outputs."""
    outputs = StackOutputs.read_local(state_dir)
    session = boto3.Session(
        aws_access_key_id=LOCAL_CREDENTIALS,
        aws_secret_access_key=LOCAL_CREDENTIALS,
        aws_session_token=LOCAL_CREDENTIALS,
        region_name=outputs.region,
    )
    return Target(outputs=outputs, session=session, local=True)


def aws_target(*, profile: str | None, region: str | None, stack: str = DEFAULT_STACK) -> Target:
    """A deployed stack, found by its CloudFormation outputs with the operator's credentials."""
    try:
        session = boto3.Session(profile_name=profile, region_name=region)
    except BotoCoreError as error:  # e.g. ProfileNotFound
        raise StackNotFound(str(error)) from error
    if not session.region_name:
        raise StackNotFound("no AWS region: pass --region (or set one for the profile)")
    cloudformation = session.client("cloudformation", config=_config(local=False))
    try:
        described = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    except ClientError as error:
        raise StackNotFound(
            f"cannot read the stack {stack!r} in {session.region_name}: {error.response['Error']['Message']}"
            " (pass --stack NAME if it has another name)"
        ) from error
    except BotoCoreError as error:  # no credentials, no network
        raise StackNotFound(f"cannot reach AWS: {error}") from error
    outputs = StackOutputs.from_cloudformation(
        [dict(output) for output in described[0].get("Outputs", [])], session.region_name
    )
    return Target(outputs=outputs, session=session, local=False)
