"""What the figures share: paths, a clean fake-AWS environment, a moto server, percentiles."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FUNCTIONS = ("track_click", "api", "inbound_webhook", "qualify", "issue_reward")
REGION = "us-east-1"

# Powertools loggers read these when a handler module is imported: figures 1 and 2 run the handlers in
# this process, and each would otherwise print a JSON line per invocation.
_QUIET_POWERTOOLS = {
    "POWERTOOLS_SERVICE_NAME": "referral-engine-bench",
    "POWERTOOLS_METRICS_NAMESPACE": "ReferralEngineBench",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
}
# Never a real account: dummy credentials, no profile, no endpoint unless one is given.
_FAKE_AWS: dict[str, str | None] = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    # botocore >= 1.44.4 addresses DynamoDB Streams by account id, which moto does not route.
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    "AWS_PROFILE": None,
    "AWS_DEFAULT_PROFILE": None,
    "AWS_ENDPOINT_URL": None,
}


def prepare() -> None:
    """Makes the handler modules and the tests' `support` package importable, from the same list
    pytest uses (pyproject.toml, tool.pytest.ini_options.pythonpath), and quietens Powertools."""
    os.environ.update(_QUIET_POWERTOOLS)
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    for entry in reversed(config["tool"]["pytest"]["ini_options"]["pythonpath"]):
        path = str(REPO / entry)
        if path not in sys.path:
            sys.path.insert(0, path)


def _apply(values: dict[str, str | None]) -> None:
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@contextmanager
def fake_aws(**values: str | None) -> Iterator[None]:
    """Fake credentials and region plus `values`; forgets the handlers' cached clients and settings
    on the way in and out, as a fresh Lambda container would."""
    import boto3

    from support.aws import reset_caches

    changes = {**_FAKE_AWS, **values}
    saved = {name: os.environ.get(name) for name in changes}
    _apply(changes)
    boto3.setup_default_session()
    reset_caches()
    try:
        yield
    finally:
        _apply(saved)
        boto3.setup_default_session()
        reset_caches()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def moto_server() -> Iterator[str]:
    """A moto server on a free loopback port (as the local stack runs it); yields its endpoint URL."""
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 - our own interpreter running moto's server
        [sys.executable, "-m", "referrals_local.stack.aws_endpoint", "-H", "127.0.0.1", "-p", str(port)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("moto server did not start")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def p50(values: Sequence[float]) -> float:
    return statistics.median(values)


def p99(values: Sequence[float]) -> float:
    """The 99th percentile (linear interpolation between closest ranks)."""
    return statistics.quantiles(values, n=100, method="inclusive")[98]


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def progress(message: str) -> None:
    """A line on stderr while the bench runs; stdout holds only the results."""
    print(message, file=sys.stderr, flush=True)  # noqa: T201 - the bench's own progress
