"""Which stack the CLI talks to, how it fails when there is none, its help, and `referrals run`."""

from __future__ import annotations

import ast
import json
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, get_args
from urllib.parse import urlsplit

import boto3
import pytest
import responses
from requests import PreparedRequest

import admin
from referral_engine.domain.models import ReferralStatus
from referral_engine.ports import ApiKeyScope
from referrals_local import stack as local_stack
from referrals_local.cli import main
from referrals_local.cli.parser import SCOPES, STATUSES
from referrals_local.outputs import OUTPUT_KEYS, StackOutputs
from referrals_local.stack.gateway import build_event, routes
from referrals_local.stack.model import functions
from referrals_local.template import load_template
from support.aws import reset_caches
from support.events import LambdaContext, sample

if TYPE_CHECKING:
    from cli.conftest import Cli

TOOLS = Path(__file__).resolve().parents[2] / "tools"
LAYER = Path(__file__).resolve().parents[2] / "layers" / "common"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# ------------------------------------------------------------------------------------ the local stack
def test_without_a_local_stack_it_exits_2_with_the_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("REFERRALS_STATE_DIR", str(tmp_path / "nothing-here"))

    code, out, err = run(capsys, "campaigns", "list")

    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("referrals: error: no local stack is running")
    assert "start it with `make run`" in err


def test_a_stopped_local_stack_exits_2_with_the_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    endpoint = f"http://127.0.0.1:{closed_port()}"
    StackOutputs(
        api_url="http://127.0.0.1:3000",
        table_name="t",
        event_bus_name="b",
        qualify_failure_queue_url=f"{endpoint}/123456789012/q",
        exceptions_queue_url=f"{endpoint}/123456789012/e",
        reward_events_dlq_url=f"{endpoint}/123456789012/r",
        issue_reward_failure_queue_url=f"{endpoint}/123456789012/i",
        hook_events_dlq_url=f"{endpoint}/123456789012/h",
        announce_referrals_failure_queue_url=f"{endpoint}/123456789012/a",
        deliver_events_failure_queue_url=f"{endpoint}/123456789012/d",
        region="us-east-1",
        endpoint_url=endpoint,
    ).write(tmp_path)

    code, _, err = run(capsys, "--state-dir", str(tmp_path), "referrals", "show", "ref_1")

    assert code == 2
    assert err.startswith(f"referrals: error: cannot reach the local stack at {endpoint}")
    assert err.rstrip().endswith("is it running? start it with `make run`")


def test_state_dir_flag_wins_over_the_environment(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REFERRALS_STATE_DIR", "/nonexistent/state")

    assert cli("campaigns", "list").code == 2
    assert cli("--state-dir", str(cli.state_dir), "campaigns", "list").code == 0
    assert cli("campaigns", "list", "--state-dir", str(cli.state_dir)).code == 0


def test_global_flags_work_after_the_command_too(cli: Cli) -> None:
    cli.ok(
        "campaigns",
        "create",
        "--name",
        "x",
        "--landing-url",
        "https://a.example/",
        "--amount",
        "1",
        "--currency",
        "EUR",
    )

    after = json.loads(cli.ok("campaigns", "list", "--json"))
    before = json.loads(cli.ok("--json", "campaigns", "list"))

    assert [c["name"] for c in after["items"]] == ["x"]
    assert after["items"] == before["items"]


def _supervisor_refs() -> dict[str, str]:
    """The `StackOutputs(...)` fields the local stack's supervisor fills with `resolver.ref("X")`: X."""
    source = (TOOLS / "referrals_local" / "stack" / "supervisor.py").read_text()
    [call] = [
        node
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "StackOutputs"
    ]
    return {
        keyword.arg: str(keyword.value.args[0].value)
        for keyword in call.keywords
        if keyword.arg
        and isinstance(keyword.value, ast.Call)
        and isinstance(keyword.value.func, ast.Attribute)
        and keyword.value.func.attr == "ref"
        and isinstance(keyword.value.args[0], ast.Constant)
    }


def test_every_queue_output_of_the_template_is_known_and_written_by_the_local_stack() -> None:
    template = load_template()
    queues = {
        key
        for key, output in template["Outputs"].items()
        if isinstance(output["Value"], dict)
        and template["Resources"].get(output["Value"].get("Ref"), {}).get("Type") == "AWS::SQS::Queue"
    }
    refs = _supervisor_refs()

    assert queues <= set(OUTPUT_KEYS)
    assert {"HookEventsDLQUrl", "AnnounceReferralsFailureQueueUrl", "DeliverEventsFailureQueueUrl"} <= queues
    for key in queues:
        assert refs[OUTPUT_KEYS[key]] == template["Outputs"][key]["Value"]["Ref"], key


# ------------------------------------------------------------------------------------ a deployed stack
def deploy(cli: Cli, name: str = "referral-engine") -> None:
    """A CloudFormation stack whose outputs name the moto resources, as `sam deploy` would."""
    o = cli.outputs
    values = {
        "ApiUrl": "https://abc123.execute-api.us-east-1.amazonaws.com",
        "TableName": o.table_name,
        "EventBusName": o.event_bus_name,
        "QualifyFailureQueueUrl": o.qualify_failure_queue_url,
        "ExceptionsQueueUrl": o.exceptions_queue_url,
        "RewardEventsDLQUrl": o.reward_events_dlq_url,
        "IssueRewardFailureQueueUrl": o.issue_reward_failure_queue_url,
        "HookEventsDLQUrl": o.hook_events_dlq_url,
        "AnnounceReferralsFailureQueueUrl": o.announce_referrals_failure_queue_url,
        "DeliverEventsFailureQueueUrl": o.deliver_events_failure_queue_url,
    }
    template = {
        "Resources": {"Placeholder": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": f"{name}-x"}}},
        "Outputs": {key: {"Value": value} for key, value in values.items()},
    }
    boto3.client("cloudformation").create_stack(StackName=name, TemplateBody=json.dumps(template))


def test_with_a_region_it_finds_the_stack_by_its_cloudformation_outputs(cli: Cli) -> None:
    deploy(cli, "my-referrals")
    created = cli.json(
        "--region", "us-east-1", "--stack", "my-referrals", "campaigns", "create", "--name", "On AWS",
        "--landing-url", "https://shop.example/", "--amount", "5", "--currency", "EUR",
    )  # fmt: skip

    assert created["hook_url"].startswith("https://abc123.execute-api.us-east-1.amazonaws.com/hooks/generic/")
    assert [c["name"] for c in cli.stack.items_of("campaign")] == ["On AWS"]


class IamGateway:
    """API Gateway in front of the admin function with the AWS_IAM authorizer: it admits a request only
    with a SigV4 signature for execute-api and hands the function the caller's ARN."""

    def __init__(self, caller_arn: str) -> None:
        self.caller_arn = caller_arn
        self.signed: list[str] = []
        self.allowed = True  # False: the caller's IAM policy does not allow execute-api:Invoke
        self.table = routes(functions(load_template(), "referral-engine"))

    def __call__(self, request: PreparedRequest) -> tuple[int, dict[str, str], str]:
        authorization = str(request.headers.get("Authorization", ""))
        if not self.allowed or not re.match(
            r"AWS4-HMAC-SHA256 Credential=\S+/us-east-1/execute-api/aws4_request", authorization
        ):
            return 403, {}, json.dumps({"message": "Forbidden"})
        self.signed.append(f"{request.method} {urlsplit(request.url or '').path}")
        path = urlsplit(request.url or "").path
        route, match = next(
            (r, m) for r in self.table if (m := r.pattern.match(path)) and r.method == request.method
        )
        body = request.body or b""
        event = build_event(
            route,
            str(request.method),
            path + (f"?{urlsplit(request.url or '').query}" if urlsplit(request.url or "").query else ""),
            dict(request.headers),
            body.encode() if isinstance(body, str) else body,
            "203.0.113.7",
            match.groupdict(),
        )
        event["requestContext"]["authorizer"] = {"iam": {"userArn": self.caller_arn}}
        answer = admin.handler(event, LambdaContext("admin"))
        return answer["statusCode"], answer.get("headers") or {}, answer["body"]


@pytest.fixture
def gateway(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> Iterator[IamGateway]:
    """A deployed stack whose /v1/admin routes reach the admin function through an IAM gateway."""
    deploy(cli)
    for field, url in vars(cli.outputs).items():
        if field.endswith(("_queue_url", "_dlq_url")):
            monkeypatch.setenv(field.upper(), str(url))
    reset_caches()
    iam = IamGateway(boto3.client("sts").get_caller_identity()["Arn"])
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        for method in ("GET", "POST", "DELETE"):
            mock.add_callback(
                method, re.compile(r"https://abc123\.execute-api\.us-east-1\.amazonaws\.com/.*"), iam
            )
        yield iam


def test_on_aws_the_admin_commands_call_the_admin_routes_signed_with_sigv4(
    cli: Cli, gateway: IamGateway
) -> None:
    message_id = cli.send("issue-reward-failure", sample("dlq/issue_reward_on_failure")["Records"][0]["body"])

    listed = cli.json("--region", "us-east-1", "dlq", "list", "issue-reward-failure")
    cli.ok("--region", "us-east-1", "dlq", "discard", "issue-reward-failure", message_id, "--reason", "test")

    assert [m["message_id"] for m in listed["messages"]] == [message_id]
    [log] = cli.stack.items_of("admin_action")
    assert log["operator"] == gateway.caller_arn
    assert log["operator"].startswith("arn:aws:")
    assert gateway.signed == [
        "GET /v1/admin/queues/issue-reward-failure/messages",
        f"POST /v1/admin/queues/issue-reward-failure/messages/{message_id}/discard",
    ]


def test_on_aws_api_keys_are_managed_through_the_admin_routes(cli: Cli, gateway: IamGateway) -> None:
    created = cli.json(
        "--region", "us-east-1", "api-keys", "create", "--name", "billing", "--scope", "server"
    )
    revoked = cli.json("--region", "us-east-1", "api-keys", "revoke", created["id"])
    listed = cli.json("--region", "us-east-1", "api-keys", "list")

    assert created["api_key"].startswith("rk_")
    assert revoked["revoked_at"] is not None
    assert [
        (k["name"], k["revoked_at"] is not None) for k in listed["items"] if k["id"] == created["id"]
    ] == [("billing", True)]
    assert all("api_key" not in k for k in listed["items"])
    assert {call.split(" ")[0] for call in gateway.signed} == {"GET", "POST", "DELETE"}


def test_on_aws_an_unknown_message_fails_as_it_does_locally(cli: Cli, gateway: IamGateway) -> None:
    run_ = cli("--region", "us-east-1", "dlq", "redrive", "reward-events", "nope")

    assert run_.code == 1
    assert run_.err == "referrals: error: not found: no message nope in the reward-events queue\n"


def test_an_unknown_aws_stack_exits_2(cli: Cli) -> None:
    run_ = cli("--region", "us-east-1", "--stack", "nope", "campaigns", "list")

    assert run_.code == 2
    assert run_.err.startswith("referrals: error: cannot read the stack 'nope' in us-east-1")
    assert "--stack NAME" in run_.err


# ------------------------------------------------------------------------------------ help and parsing
@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["campaigns", "--help"],
        ["campaigns", "create", "--help"],
        ["referrals", "list", "--help"],
        ["dlq", "redrive", "--help"],
        ["exceptions", "discard", "--help"],
        ["api-keys", "create", "--help"],
        ["demo", "--help"],
    ],
)
def test_help_everywhere_exits_0(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, *argv)

    assert code == 0
    assert out.startswith("usage: referrals")
    assert "--json" in out


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "campaigns")[0] == 2
    assert run(capsys, "no-such-command")[0] == 2
    code, _, err = run(capsys, "referrals", "list", "cmp_1", "--status", "lost")
    assert code == 2
    assert "invalid choice: 'lost'" in err


def test_the_status_choices_are_the_domains_statuses() -> None:
    assert set(STATUSES) == {status.value for status in ReferralStatus}


def test_the_scope_choices_are_the_api_key_scopes() -> None:
    assert set(SCOPES) == set(get_args(ApiKeyScope))


def test_help_does_not_load_boto3_or_pydantic() -> None:
    code = (
        "import sys\n"
        "from referrals_local.cli import main\n"
        "main(['--help'])\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'boto3', 'botocore', 'pydantic'}))\n"
    )
    result = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code],
        env={"PYTHONPATH": f"{TOOLS}:{LAYER}"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_run_hands_its_arguments_to_the_local_stack(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    received: list[list[str] | None] = []

    def serve(argv: list[str] | None = None) -> int:
        received.append(argv)
        return 7

    monkeypatch.setattr(local_stack, "serve", serve)

    assert main(["run", "--api-port", "3999", "--help"]) == 7
    assert main(["--json", "run"]) == 7
    assert received == [["--api-port", "3999", "--help"], []]


def test_on_aws_a_caller_iam_does_not_allow_is_refused_clearly(cli: Cli, gateway: IamGateway) -> None:
    gateway.allowed = False

    run_ = cli("--region", "us-east-1", "exceptions", "list")

    assert run_.code == 1
    assert run_.err == "referrals: error: refused: Forbidden (HTTP 403)\n"
