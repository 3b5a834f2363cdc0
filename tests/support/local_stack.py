"""Starting the local stack as a user does (a subprocess on free ports) and talking to it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypeVar

import boto3
import requests
from botocore.config import Config

from referrals_local.outputs import StackOutputs
from referrals_local.stack.chaos import RUNNER_HEADER
from support.polling import settled

T = TypeVar("T")

# Every hop of the pipeline (stream poll, bus rule, async invoke) takes well under a second locally:
# this long without a new invocation, the stack has done what it will do.
QUIET_S = 1.5
# Faults in every service the engine calls, at rates its retries should absorb (ADR 0016); the chaos
# tests raise them further where a test needs an outage.
CHAOS = (
    "dynamodb=throttle@0.08,dynamodb=500@0.03,dynamodb=timeout:200ms@0.02,dynamodb=timeout-after:300ms@0.02,"
    "sqs=throttle@0.08,sqs=500@0.03,events=throttle@0.1,events=500@0.03,events=timeout:200ms@0.02,"
    "ssm=throttle@0.1,*=latency:30ms@0.2"
)
FIXED_KEYS = {"REFERRALS_API_KEY": "rk_e2e_key_0123456789", "REFERRALS_ADMIN_KEY": "rk_e2e_admin_0123456789"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found: set[int] = set()
    pending = [pid]
    while pending:
        for child in children.get(pending.pop(), []):
            found.add(child)
            pending.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _unfaulted(request: Any, **kwargs: Any) -> None:
    request.headers[RUNNER_HEADER] = "1"


@dataclass
class RunningStack:
    process: subprocess.Popen[str]
    outputs: StackOutputs
    log_path: Path
    state_dir: Path
    log_file: IO[str]

    @property
    def api(self) -> str:
        return self.outputs.api_url

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.outputs.api_key}"}

    def post(self, path: str, body: dict[str, Any]) -> requests.Response:
        return requests.post(f"{self.api}{path}", json=body, headers=self.headers(), timeout=10)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return requests.get(f"{self.api}{path}", headers=self.headers(), timeout=10, **kwargs)

    def client(self, service: str) -> Any:
        """A client for the test's own look into the stack: chaos mode does not fault its calls."""
        made = boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.outputs.endpoint_url,
            region_name=self.outputs.region,
            aws_access_key_id="local",
            aws_secret_access_key="local",
            config=Config(account_id_endpoint_mode="disabled"),
        )
        made.meta.events.register("before-sign", _unfaulted)
        return made

    def chaos(self, spec: str) -> dict[str, Any]:
        """Replaces the AWS endpoint's chaos spec (ADR 0016); what it injected so far."""
        answer = requests.put(f"{self.outputs.endpoint_url}/_referrals/chaos", data=spec, timeout=10)
        assert answer.status_code == 200, answer.text
        shown: dict[str, Any] = answer.json()
        return shown

    def log(self) -> str:
        return self.log_path.read_text()

    def log_tail(self) -> str:
        return f"runner log:\n{self.log()[-3000:]}"

    def wait_for(
        self,
        read: Callable[[], T],
        until: Callable[[T], object] = bool,
        timeout: float = 20.0,
        what: str = "condition",
    ) -> T:
        """The first value of `read()` for which `until` holds (by default: the first truthy one)."""
        return settled(read, until, timeout=timeout, what=what, context=self.log_tail)

    def background_lines(self) -> int:
        """Lines the runner logged other than HTTP requests: stream batches, bus events, async
        invocations and their retries."""
        return sum(line.split()[2:3] != ["http"] for line in self.log().splitlines())

    def once_quiet(self, read: Callable[[], T], what: str = "the stack to go quiet") -> T:
        """`read()` once the runner has logged nothing but HTTP requests for QUIET_S seconds and the
        value has not changed meanwhile: what a wrong extra step (a second reward, a second delivery)
        would change has shown by then."""
        value, _ = settled(
            lambda: (read(), self.background_lines()), steady_for=QUIET_S, what=what, context=self.log_tail
        )
        return value

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=20)
        finally:
            self.log_file.close()


def start_stack(tmp_path: Path, *extra: str, fixed_keys: bool = True) -> RunningStack:
    """`fixed_keys`: start with REFERRALS_API_KEY and REFERRALS_ADMIN_KEY set (else the stack's own)."""
    state_dir = tmp_path / "state"
    log_path = tmp_path / "runner.log"
    log = log_path.open("w")
    process = subprocess.Popen(  # noqa: S603 - our own interpreter running the project's runner
        [
            sys.executable,
            "-m",
            "referrals_local.stack",
            "--api-port",
            str(free_port()),
            "--aws-port",
            str(free_port()),
            "--state-dir",
            str(state_dir),
            "--async-retry-delay",
            "0.2",
            "--stream-retry-delay",
            "0.05",
            *extra,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        env={
            **{k: v for k, v in os.environ.items() if k not in FIXED_KEYS},
            **(FIXED_KEYS if fixed_keys else {}),
        },
    )
    try:
        settled(
            lambda: (state_dir / "outputs.json").exists() or process.poll() is not None,
            timeout=30,
            what="the local stack to start",
            context=log_path.read_text,
        )
        if process.poll() is not None:
            raise AssertionError(f"the local stack exited on start:\n{log_path.read_text()}")
        return RunningStack(process, StackOutputs.read_local(state_dir), log_path, state_dir, log)
    except BaseException:
        process.kill()
        process.wait()
        log.close()
        raise


def referrals_cli(stack: RunningStack, *args: str) -> subprocess.CompletedProcess[str]:
    """The admin CLI as a user runs it (the `referrals` console script), against this stack."""
    script = Path(sys.executable).parent / "referrals"
    return subprocess.run(  # noqa: S603 - the project's own console script
        [str(script), "--state-dir", str(stack.state_dir), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
