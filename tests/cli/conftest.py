"""The admin CLI against the in-process moto stack: `main([...])` with its outputs in a temporary state
directory (no endpoint: under `mock_aws` boto3 needs none). Nothing may leave the loopback interface."""

from __future__ import annotations

import ipaddress
import json
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import boto3
import pytest

from referral_engine.services.admin_messages import DLQS
from referrals_local.cli import main
from referrals_local.outputs import StackOutputs
from support.aws import BUS, TABLE, AwsStack

API_URL = "https://api.example.test"


class NetworkBlocked(RuntimeError):
    pass


def _loopback_only(address: Any) -> None:
    host = address[0] if isinstance(address, tuple) else address
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        if host == "localhost":
            return
    raise NetworkBlocked(f"CLI tests must not leave the loopback interface (tried {address!r})")


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    connect, connect_ex = socket.socket.connect, socket.socket.connect_ex

    def guarded_connect(self: socket.socket, address: Any) -> None:
        _loopback_only(address)
        connect(self, address)

    def guarded_connect_ex(self: socket.socket, address: Any) -> int:
        _loopback_only(address)
        return connect_ex(self, address)

    def refuse_dns(host: Any, *args: Any, **kwargs: Any) -> NoReturn:
        raise NetworkBlocked(f"CLI tests must not resolve {host!r}")

    original_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host in ("127.0.0.1", "localhost", "::1", None):
            return original_getaddrinfo(host, *args, **kwargs)
        return refuse_dns(host)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded_connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        assert self.code == 0, self.err
        return json.loads(self.out)


@dataclass
class Cli:
    stack: AwsStack
    outputs: StackOutputs
    state_dir: Path
    capsys: pytest.CaptureFixture[str]

    def __call__(self, *argv: str) -> Run:
        self.capsys.readouterr()
        code = main(list(argv))
        captured = self.capsys.readouterr()
        return Run(code, captured.out, captured.err)

    def ok(self, *argv: str) -> str:
        run = self(*argv)
        assert run.code == 0, run.err
        return run.out

    def json(self, *argv: str) -> Any:
        return self("--json", *argv).json()

    # queues
    def queue_url(self, name: str) -> str:
        return {
            "qualify-failure": self.outputs.qualify_failure_queue_url,
            "reward-events": self.outputs.reward_events_dlq_url,
            "issue-reward-failure": self.outputs.issue_reward_failure_queue_url,
            "hook-events": self.outputs.hook_events_dlq_url,
            "announce-referrals-failure": self.outputs.announce_referrals_failure_queue_url,
            "deliver-events-failure": self.outputs.deliver_events_failure_queue_url,
            "exceptions": self.outputs.exceptions_queue_url,
        }[name]

    def send(self, queue: str, body: str | dict[str, Any], **attributes: str) -> str:
        text = body if isinstance(body, str) else json.dumps(body)
        kwargs: dict[str, Any] = {}
        if attributes:
            kwargs["MessageAttributes"] = {
                name: {"DataType": "String", "StringValue": value} for name, value in attributes.items()
            }
        sent = boto3.client("sqs").send_message(QueueUrl=self.queue_url(queue), MessageBody=text, **kwargs)
        return str(sent["MessageId"])

    def depth(self, queue: str) -> int:
        """Messages in the queue, visible or not: listing must not consume any."""
        attributes = boto3.client("sqs").get_queue_attributes(
            QueueUrl=self.queue_url(queue),
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )

    def visible(self, queue: str) -> int:
        attributes = boto3.client("sqs").get_queue_attributes(
            QueueUrl=self.queue_url(queue), AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"])


@pytest.fixture
def cli(
    stack: AwsStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Cli:
    """The `stack` fixture's resources plus the failure queues, found through a state file."""
    sqs = boto3.client("sqs")
    urls = {name: sqs.create_queue(QueueName=name)["QueueUrl"] for name in DLQS}
    outputs = StackOutputs(
        api_url=API_URL,
        table_name=TABLE,
        event_bus_name=BUS,
        qualify_failure_queue_url=urls["qualify-failure"],
        exceptions_queue_url=stack.exceptions_queue_url,
        reward_events_dlq_url=urls["reward-events"],
        issue_reward_failure_queue_url=urls["issue-reward-failure"],
        hook_events_dlq_url=urls["hook-events"],
        announce_referrals_failure_queue_url=urls["announce-referrals-failure"],
        deliver_events_failure_queue_url=urls["deliver-events-failure"],
        region="us-east-1",
        endpoint_url=None,
        api_key=None,
    )
    state_dir = tmp_path / "state"
    outputs.write(state_dir)
    monkeypatch.setenv("REFERRALS_STATE_DIR", str(state_dir))
    return Cli(stack, outputs, state_dir, capsys)
