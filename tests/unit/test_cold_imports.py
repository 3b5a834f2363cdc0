"""What a function's cold start imports (bench/cold_start.py measures the time; this keeps the causes out).

- boto3 never: the clients come from a botocore session (adapters/aws.py); the boto3 package pulls in
  s3transfer, 20-30 ms of every cold start.
- Powertools' parser models never.
- The fraud checks' lists never: the disposable email domains and IDNA's tables load on the path that
  checks a signup (docs/adr/0018).
- Only the api function loads pydantic and Powertools' HTTP resolver: every other function (admin and
  inbound_webhook routed by their route tables) reads its input as msgspec records (docs/adr/0011),
  neither at import nor on the path its invocations take (the services and adapters its handler asks
  the composition root for, every vendor adapter for inbound_webhook), so no cost is deferred into a
  first request either.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FUNCTIONS = sorted(
    path.name for path in (REPO / "functions").iterdir() if (path / f"{path.name}.py").is_file()
)
_PROBE = """
import json, sys
import {module}
{invocation}
print(json.dumps(sorted(sys.modules)))
"""
# What an invocation loads beyond the handler module: the composition root's factories it calls.
INVOCATIONS = {
    "admin": "from referral_engine import wiring; wiring.admin_queues(); wiring.api_keys()",
    "announce_referrals": "from referral_engine import wiring; wiring.stream_announcer()",
    "qualify": "from referral_engine import wiring; wiring.qualification(); wiring.exception_sink('qualify')",
    "issue_reward": "from referral_engine import wiring; wiring.rewards(); wiring.clawbacks()",
    "release_rewards": "from referral_engine import wiring; wiring.releases()",
    "deliver_events": "from referral_engine import wiring; wiring.event_delivery()",
    "review_queue_age": "from referral_engine import wiring; wiring.reviews()",
    "inbound_webhook": "from referral_engine import wiring, vendors; wiring.signals(); wiring.webhooks(); "
    "[vendors.adapter_for(source) for source in vendors.SOURCES]",
}
HTTP_API = ("api",)
WITHOUT_PYDANTIC = tuple(function for function in FUNCTIONS if function not in HTTP_API)


def imported_by(function: str) -> list[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO / "functions" / function), str(REPO / "layers" / "common")]),
        "AWS_REGION": "us-east-1",
        "TABLE_NAME": "cold",
        "EVENT_BUS_NAME": "cold",
    }
    output = subprocess.run(  # noqa: S603 - our own interpreter and probe
        [sys.executable, "-c", _PROBE.format(module=function, invocation=INVOCATIONS.get(function, ""))],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    imported: list[str] = json.loads(output.stdout)
    return imported


@pytest.mark.parametrize("function", FUNCTIONS)
def test_a_cold_start_imports_neither_boto3_nor_the_parser_models_nor_the_fraud_lists(function: str) -> None:
    imported = imported_by(function)

    assert not [name for name in imported if name.split(".")[0] in ("boto3", "s3transfer")]
    assert not [name for name in imported if name.startswith("aws_lambda_powertools.utilities.parser")]
    assert not [name for name in imported if name.split(".")[0] in ("disposable_email_domains", "idna")]


def test_every_function_but_the_http_api_is_probed_on_its_invocation_path() -> None:
    assert set(INVOCATIONS) | {"track_click"} == set(WITHOUT_PYDANTIC)


@pytest.mark.parametrize("function", WITHOUT_PYDANTIC)
def test_functions_outside_the_http_api_load_no_pydantic_nor_the_http_resolver(function: str) -> None:
    imported = imported_by(function)

    assert [name for name in imported if name.split(".")[0] in ("pydantic", "pydantic_core")] == []
    assert [name for name in imported if name.startswith("aws_lambda_powertools.event_handler")] == []
