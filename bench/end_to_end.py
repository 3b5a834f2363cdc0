"""Figure 4: on the local stack (a subprocess on free loopback ports, as `make run` starts it):
latency from webhook accepted (its 202 reaches the caller) to reward issued (the time the rewards
were created, same machine clock), then sustained clicks/s with CLICK_CLIENTS concurrent clients
(`GET /r/{code}`, redirects not followed, anything but a 302 is an error).

ROUNDS x PER_ROUND referrals, each round on a fresh stack: the round's referrals are set up first,
then their webhooks are fired at most WEBHOOK_RATE per second, holding back while MAX_IN_FLIGHT
rewards are pending (counted from the stack's log, which costs the stack nothing), so the figure is
latency, not a queue. Fresh stacks, so that every round measures the same small table
(bench/README.md).

The stack's log has one line per invocation with its duration: their warm medians are the durations
figure 5 prices.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import requests

from bench.common import ms, p50, p99, progress

if TYPE_CHECKING:
    from support.local_stack import RunningStack

API_KEY = "rk_bench_0123456789abcdefghijkl"
ROUNDS = 8
PER_ROUND = 25
REFERRALS_PER_ADVOCATE = 5
WEBHOOK_RATE = 4.0  # per second at most
MAX_IN_FLIGHT = 1  # webhooks accepted whose reward is not issued yet
STEP_DEADLINE_S = 60.0  # for any one reward, and for the last ones at the end of a round
GOAL_P99_S = 1.0
CLICK_CLIENTS = 16
CLICK_SECONDS = 10.0
_INVOCATION = re.compile(
    r"^\d\d:\d\d:\d\d  (?P<function>\S+)\s+(?P<trigger>.+?)\s+(?P<ms>\d+\.\d) ms  (?P<outcome>.*)$"
)
_CAMPAIGN = {
    "name": "Bench: give $20, get $10",
    "landing_url": "https://shop.example.com/welcome",
    "reward": {"amount": "20.00", "currency": "USD", "friend_amount": "10.00"},
}


class _Api:
    """The HTTP API with the stack's key; one keep-alive session per thread."""

    def __init__(self, base: str, api_key: str) -> None:
        self.base = base
        self.headers = {"Authorization": f"Bearer {api_key}"}
        self._local = threading.local()

    @property
    def session(self) -> requests.Session:
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
        session: requests.Session = self._local.session
        return session

    def call(self, method: str, path: str, expect: int, **kwargs: Any) -> dict[str, Any]:
        response = self.session.request(
            method, f"{self.base}{path}", headers=self.headers, timeout=30, **kwargs
        )
        if response.status_code != expect:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:300]}")
        body: dict[str, Any] = response.json()
        return body


def _start(state: Path) -> RunningStack:
    """The local stack on free ports, as tests/support/local_stack.py starts it, but never left
    running when its start fails (its outputs file can be read while it is still being written)."""
    from referrals_local.outputs import StackNotFound, StackOutputs
    from support.local_stack import RunningStack, free_port

    log_path = state / "runner.log"
    log = log_path.open("w")
    command = [sys.executable, "-m", "referrals_local.stack", "--api-port", str(free_port())]
    command += ["--aws-port", str(free_port()), "--state-dir", str(state / "state")]
    process = subprocess.Popen(  # noqa: S603 - our own interpreter running the project's runner
        command,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "REFERRALS_API_KEY": API_KEY},
    )
    stack = None
    try:
        deadline = time.monotonic() + 60
        while stack is None:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the local stack did not start: see {log_path}")
            with contextlib.suppress(StackNotFound, ValueError, TypeError):
                outputs = StackOutputs.read_local(state / "state")
                stack = RunningStack(process, outputs, log_path, state / "state", log)
            time.sleep(0.1)
    except BaseException:
        _end(process)
        log.close()
        raise
    return stack


def _end(process: subprocess.Popen[str]) -> None:
    """Ctrl-C, as a user stops it; if that hangs, the processes it started are ended one by one."""
    from support.local_stack import descendants

    children = descendants(process.pid)
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.kill()
        process.wait(timeout=10)


def _stop(stack: RunningStack, state: tempfile.TemporaryDirectory[str]) -> None:
    try:
        _end(stack.process)
    finally:
        stack.log_file.close()
        state.cleanup()


class _RewardsIssued:
    """Counts issue_reward's successful invocations in the stack's log, reading only what is new."""

    def __init__(self, log: TextIO) -> None:
        self._log = log
        self._partial = ""
        self.count = 0

    def __call__(self) -> int:
        *lines, self._partial = (self._partial + self._log.read()).split("\n")
        for line in lines:
            match = _INVOCATION.match(line)
            if match and match["function"] == "issue_reward" and match["outcome"].startswith("ok"):
                self.count += 1
        return self.count


def _set_up(api: _Api, campaign_id: str, offset: int) -> list[dict[str, Any]]:
    """PER_ROUND referrals, REFERRALS_PER_ADVOCATE per advocate, one at a time (see the docstring)."""
    referrals = []
    for index in range(offset, offset + PER_ROUND):
        if index % REFERRALS_PER_ADVOCATE == 0:
            email = f"advocate{index}@bench.example.com"
            path = f"/v1/campaigns/{campaign_id}/advocates"
            code = api.call("POST", path, 201, json={"email": email})["code"]
        body = {"code": code, "email": f"friend{index}@bench.example.org"}
        referrals.append(api.call("POST", "/v1/referrals", 201, json=body))
    return referrals


def _fire(
    stack: RunningStack, hook_url: str, referrals: list[dict[str, Any]], offset: int
) -> dict[str, datetime]:
    """One webhook per referral, at most WEBHOOK_RATE per second and MAX_IN_FLIGHT unrewarded at once;
    returns when each one's 202 arrived."""
    accepted: dict[str, datetime] = {}
    next_at = time.monotonic()
    with requests.Session() as session, stack.log_path.open() as log:
        issued = _RewardsIssued(log)
        issued_before = issued()
        for index, referral in enumerate(referrals):
            deadline = time.monotonic() + STEP_DEADLINE_S
            while index - (issued() - issued_before) >= MAX_IN_FLIGHT:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"no reward issued in {STEP_DEADLINE_S:.0f} s: see {stack.log_path}")
                time.sleep(0.02)
            time.sleep(max(0.0, next_at - time.monotonic()))
            next_at = time.monotonic() + 1 / WEBHOOK_RATE
            query = {
                "code": referral["referral_code"],
                "event_id": f"order-{offset + index}",
                "amount": "79.00",
            }
            response = session.get(hook_url, params=query, timeout=10)
            if response.status_code != 202:
                raise RuntimeError(f"webhook: {response.status_code} {response.text[:300]}")
            accepted[referral["id"]] = datetime.now(UTC)
    return accepted


def _set_up_round(stack: RunningStack, offset: int) -> tuple[_Api, dict[str, Any], list[dict[str, Any]]]:
    api = _Api(stack.api, stack.outputs.api_key or "")
    campaign = api.call("POST", "/v1/campaigns", 201, json=_CAMPAIGN)
    return api, campaign, _set_up(api, campaign["id"], offset)


def _measure_round(
    stack: RunningStack, api: _Api, campaign: dict[str, Any], referrals: list[dict[str, Any]], offset: int
) -> tuple[list[float], list[float]]:
    """Fires the round's webhooks; the seconds from each one's 202 to its reward and qualification."""
    accepted = _fire(stack, campaign["hook_url"], referrals, offset)
    # The campaign's list shows every referral's rewarded_at: the timestamp its rewards were created
    # with, in the same transaction. One GET /v1/referrals/{id} per round checks that they agree.
    deadline = time.monotonic() + STEP_DEADLINE_S
    path = f"/v1/campaigns/{campaign['id']}/referrals?limit=100"
    while True:
        shown = {referral["id"]: referral for referral in api.call("GET", path, 200)["items"]}
        if all(shown[referral_id]["status"] == "rewarded" for referral_id in accepted):
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"not every referral was rewarded in time: see {stack.log_path}")
        time.sleep(0.2)
    sample = api.call("GET", f"/v1/referrals/{referrals[0]['id']}", 200)
    created = {datetime.fromisoformat(reward["created_at"]) for reward in sample["rewards"]}
    if created != {datetime.fromisoformat(sample["rewarded_at"])}:
        raise RuntimeError(f"rewards created at other times than rewarded_at: {sample}")

    to_reward, to_qualified = [], []
    for referral_id, at in accepted.items():
        to_reward.append((datetime.fromisoformat(shown[referral_id]["rewarded_at"]) - at).total_seconds())
        to_qualified.append((datetime.fromisoformat(shown[referral_id]["qualified_at"]) - at).total_seconds())
    return to_reward, to_qualified


def _clicks(base: str, codes: list[str]) -> dict[str, Any]:
    statuses: Counter[int] = Counter()
    latencies: list[float] = []
    lock = threading.Lock()
    deadline = time.monotonic() + CLICK_SECONDS

    def client(offset: int) -> None:
        mine: Counter[int] = Counter()
        timings: list[float] = []
        with requests.Session() as session:
            # A browser's user agent: the HTTP library's is a bot's, redirected uncounted (ADR 0023).
            session.headers["User-Agent"] = (
                "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
            )
            index = offset
            while time.monotonic() < deadline:
                code = codes[index % len(codes)]
                index += CLICK_CLIENTS
                started = time.perf_counter()
                try:
                    status = session.get(f"{base}/r/{code}", allow_redirects=False, timeout=10).status_code
                except requests.RequestException:
                    status = 0
                timings.append(time.perf_counter() - started)
                mine[status] += 1
        with lock:
            statuses.update(mine)
            latencies.extend(timings)

    started = time.monotonic()
    with ThreadPoolExecutor(CLICK_CLIENTS) as pool:
        list(pool.map(client, range(CLICK_CLIENTS)))
    elapsed = time.monotonic() - started
    redirects = statuses[302]
    return {
        "clients": CLICK_CLIENTS,
        "seconds": round(elapsed, 2),
        "redirects": redirects,
        "errors": sum(statuses.values()) - redirects,
        "clicks_per_s": round(redirects / elapsed, 1),
        "p50_ms": ms(p50(latencies)),
        "p99_ms": ms(p99(latencies)),
    }


def invocation_durations(logs: list[str]) -> dict[str, dict[str, float]]:
    """Median warm duration (ms) per function and trigger, from the runner's one line per invocation;
    a stream batch's duration is divided among its records."""
    durations: dict[tuple[str, str], list[float]] = {}
    for line in "\n".join(logs).splitlines():
        match = _INVOCATION.match(line)
        if not match or "cold start" in match["outcome"] or not match["outcome"].startswith(("ok", "2", "3")):
            continue
        trigger, duration = match["trigger"], float(match["ms"])
        if batch := re.match(r"stream batch=(\d+)", trigger):
            trigger, duration = "stream (per record)", duration / int(batch.group(1))
        durations.setdefault((match["function"], trigger), []).append(duration)
    found: dict[str, dict[str, float]] = {}
    for (function, trigger), values in sorted(durations.items()):
        found.setdefault(function, {})[trigger] = round(statistics.median(values), 1)
    return found


def run() -> dict[str, Any]:
    to_reward: list[float] = []
    to_qualified: list[float] = []
    logs: list[str] = []
    stopping: list[threading.Thread] = []  # a stack stops (~5 s, mostly waiting) as the next round runs
    started = time.monotonic()
    try:
        for number in range(ROUNDS):
            state = tempfile.TemporaryDirectory(prefix="referrals-bench-")
            try:
                stack = _start(Path(state.name))
            except BaseException:
                state.cleanup()
                raise
            try:
                set_up = time.monotonic()
                api, campaign, referrals = _set_up_round(stack, number * PER_ROUND)
                fired = time.monotonic()
                rewarded, qualified = _measure_round(stack, api, campaign, referrals, number * PER_ROUND)
                progress(
                    f"  round {number + 1}/{ROUNDS}: {len(referrals)} referrals set up in "
                    f"{fired - set_up:.0f} s, measured in {time.monotonic() - fired:.0f} s"
                )
                to_reward += rewarded
                to_qualified += qualified
                if number == ROUNDS - 1:
                    clicks = _clicks(stack.api, sorted({r["advocate"]["code"] for r in referrals}))
                logs.append(stack.log())
            finally:
                stopping.append(threading.Thread(target=_stop, args=(stack, state)))
                stopping[-1].start()
    finally:
        for thread in stopping:
            thread.join()
    return {
        "referrals": len(to_reward),
        "rounds": ROUNDS,
        "webhook_rate_per_s": WEBHOOK_RATE,
        "max_in_flight": MAX_IN_FLIGHT,
        "goal_p99_s": GOAL_P99_S,
        "webhook_to_reward": {
            "p50_ms": ms(p50(to_reward)),
            "p99_ms": ms(p99(to_reward)),
            "max_ms": ms(max(to_reward)),
        },
        "webhook_to_qualified": {"p50_ms": ms(p50(to_qualified)), "p99_ms": ms(p99(to_qualified))},
        "clicks": clicks,
        "durations_ms": invocation_durations(logs),
        "elapsed_s": round(time.monotonic() - started, 1),
    }
