"""Which stack the CLI works on: the local stack (default), found through its state file and reached with
dummy credentials at its moto endpoint, or a deployed stack found by its CloudFormation outputs with the
operator's own credentials (`--profile`, `--region`, `--stack`). Either way the product's composition
root (`referral_engine.wiring.Services`) builds the services from the stack's outputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from referral_engine.settings import Settings
from referral_engine.wiring import Services
from referrals_local.outputs import StackNotFound, StackOutputs

DEFAULT_STACK = "referral-engine"
LOCAL_OPERATOR = "local"
LOCAL_CREDENTIALS = "testing"  # moto accepts any; these are never real


def _config(*, local: bool) -> Config:
    # botocore >= 1.44.4 would address DynamoDB Streams by account id, which moto does not route.
    if local:
        # A stopped local stack should fail in a few seconds, not after minutes of retries; a throttled or
        # failing call (chaos mode, ADR 0016) is still tried as often as botocore's standard mode does.
        return Config(
            account_id_endpoint_mode="disabled",
            connect_timeout=2,
            read_timeout=30,
            retries={"total_max_attempts": 3, "mode": "standard"},
        )
    return Config(account_id_endpoint_mode="disabled", retries={"mode": "standard"})


def settings_of(outputs: StackOutputs) -> Settings:
    """The settings a function of this stack would read from its environment."""
    return Settings(
        table_name=outputs.table_name,
        event_bus_name=outputs.event_bus_name,
        exceptions_queue_url=outputs.exceptions_queue_url,
        qualify_failure_queue_url=outputs.qualify_failure_queue_url,
        reward_events_dlq_url=outputs.reward_events_dlq_url,
        issue_reward_failure_queue_url=outputs.issue_reward_failure_queue_url,
        hook_events_dlq_url=outputs.hook_events_dlq_url,
        announce_referrals_failure_queue_url=outputs.announce_referrals_failure_queue_url,
        deliver_events_failure_queue_url=outputs.deliver_events_failure_queue_url,
    )


@dataclass
class Target:
    """A located stack: its outputs and a session to reach it."""

    outputs: StackOutputs
    session: boto3.Session
    local: bool

    def client(self, service: str) -> Any:
        return self.session.client(
            service,  # type: ignore[call-overload]
            region_name=self.outputs.region,
            endpoint_url=self.outputs.endpoint_url if self.local else None,
            config=_config(local=self.local),
        )

    @cached_property
    def services(self) -> Services:
        return Services(settings_of(self.outputs), self.client, queue_wait_seconds=0 if self.local else 1)


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
