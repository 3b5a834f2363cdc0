"""Starts and stops everything `make run` runs, and prints one line per invocation."""

from __future__ import annotations

import errno
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from referral_engine.adapters.dynamodb.api_keys import DynamoApiKeyStore
from referral_engine.adapters.dynamodb.table import Table
from referral_engine.ports import ApiKeyScope
from referral_engine.services.api_keys import ApiKeyService, key_hash
from referrals_local.outputs import OUTPUTS_FILE, StackOutputs
from referrals_local.stack import iam_roles, iam_sam, local_state, moto_state
from referrals_local.stack.async_invoke import AsyncInvoker
from referrals_local.stack.chaos import RUNNER_HEADER
from referrals_local.stack.checkpoints import StreamCheckpoints
from referrals_local.stack.gateway import HttpApi, routes
from referrals_local.stack.model import REGION, FunctionSpec, Resolver, functions, parameter_defaults
from referrals_local.stack.resources import create_resources
from referrals_local.stack.rules import RuleTarget, Schedule
from referrals_local.stack.runtime import FunctionPool, InvokeResult, function_environment
from referrals_local.stack.stream_poller import StreamPoller
from referrals_local.template import Template, load_template


@dataclass(frozen=True)
class Options:
    host: str
    api_port: int
    aws_port: int
    state_dir: Path
    stack_name: str
    api_key: str | None = None  # None: the last run's (kept in state_dir), else a new one
    admin_api_key: str | None = None
    reset: bool = False  # forget the last run's data and keys first
    snapshot_interval: float = 1.0
    max_workers: int = 4
    async_retry_delays: tuple[float, ...] = (1.0, 2.0)
    stream_retry_delay: float = 0.2
    chaos: str = ""  # faults the AWS endpoint injects (stack/chaos.py); the runner's own calls meet none
    chaos_seed: int = 0
    schedule_every: float = 0.0  # > 0: no schedule waits longer than this many seconds between runs


class ClientFactory:
    def __init__(self, endpoint_url: str) -> None:
        self.endpoint_url = endpoint_url
        self._session = boto3.Session(
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 - moto accepts any credentials
            region_name=REGION,
        )
        self._config = Config(
            account_id_endpoint_mode="disabled", retries={"max_attempts": 2, "mode": "standard"}
        )
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def __call__(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                made = self._session.client(
                    service,
                    endpoint_url=self.endpoint_url,
                    config=self._config,  # type: ignore[call-overload]
                )
                made.meta.events.register("before-sign", _mark_as_runner)
                self._clients[service] = made
            return self._clients[service]


def _mark_as_runner(request: Any, **kwargs: Any) -> None:
    request.headers[RUNNER_HEADER] = "1"


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex((host, port)) != 0


class StartFailed(RuntimeError):
    """The stack could not start, for a reason its message tells a user in one line."""


class PortInUse(StartFailed):
    """A port the stack needs is taken; the message says how to choose another."""

    def __init__(self, host: str, port: int, what: str, make_variable: str, option: str) -> None:
        other = next((p for p in range(port + 1, port + 100) if _port_free(host, p)), port + 1)
        super().__init__(
            f"{host}:{port} ({what}) is in use, by another program or a local stack already running; "
            f"pick another port: make run {make_variable}={other} (or referrals run {option} {other})"
        )


def _function_roles(
    template: Template, resolver: Resolver, specs: list[FunctionSpec], state_dir: Path
) -> dict[str, iam_roles.FunctionRole]:
    """Each function's role (ADR 0017), written where the AWS endpoint reads it."""
    try:
        roles = iam_roles.function_roles(template, resolver, specs)
    except iam_sam.TranslatorMissing as error:
        raise StartFailed(str(error)) from None
    iam_roles.write_roles(state_dir, roles)
    return {role.function: role for role in roles}


class InvocationLog:
    def __init__(self, out: Callable[[str], None]) -> None:
        self._out = out
        self._lock = threading.Lock()

    def __call__(self, function: FunctionSpec, trigger: str, result: InvokeResult) -> None:
        if result.ok:
            output = result.json()
            outcome = (
                str(output["statusCode"]) if isinstance(output, dict) and "statusCode" in output else "ok"
            )
            failures = output.get("batchItemFailures") if isinstance(output, dict) else None
            if failures:
                outcome = f"ok, {len(failures)} record(s) failed"
        else:
            outcome = f"error {result.error_type or ''}: {result.error_message}"[:160]
        cold = " (cold start)" if result.cold else ""
        with self._lock:
            self._out(
                f"{time.strftime('%H:%M:%S')}  {function.short_name:<16} {trigger:<44} "
                f"{result.duration_ms:7.1f} ms  {outcome}{cold}"
            )


class LocalStack:
    def __init__(self, options: Options, out: Callable[[str], None] = print) -> None:
        self.options = options
        self._out = out
        self._moto: subprocess.Popen[bytes] | None = None
        self._pools: dict[str, FunctionPool] = {}
        self._stoppables: list[Any] = []
        self._api: HttpApi | None = None
        self._log = InvocationLog(out)
        self.outputs: StackOutputs | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.options.host}:{self.options.aws_port}"

    @property
    def api_url(self) -> str:
        return f"http://{self.options.host}:{self.options.api_port}"

    def start(self) -> StackOutputs:
        options = self.options
        if not _port_free(options.host, options.api_port):
            raise self._api_port_in_use()
        if not _port_free(options.host, options.aws_port):
            raise PortInUse(options.host, options.aws_port, "the AWS endpoint", "AWS_PORT", "--aws-port")
        (options.state_dir / OUTPUTS_FILE).unlink(missing_ok=True)  # left by a run killed with SIGKILL
        if options.reset:
            local_state.reset(options.state_dir)
        try:
            moto_state.check(local_state.snapshot_path(options.state_dir))
        except moto_state.IncompatibleState as error:
            raise StartFailed(str(error)) from None
        api_keys = local_state.LocalKeys.choose(
            options.state_dir, api_key=options.api_key, admin_api_key=options.admin_api_key
        )
        logs = options.state_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        self._start_moto(logs)
        clients = ClientFactory(self.endpoint_url)

        template = load_template()
        resolver = Resolver(
            options.stack_name, {**parameter_defaults(template), "PublicBaseUrl": self.api_url}
        )
        create_resources(template, resolver, clients)
        specs = functions(template, options.stack_name)
        for spec in specs:
            resolver.refs[spec.logical_id] = spec.name
            resolver.attributes[(spec.logical_id, "Arn")] = spec.arn
        resolver.refs["HttpApi"] = "local"

        table_name = resolver.ref("ReferralsTable")
        keys = DynamoApiKeyStore(Table(clients("dynamodb"), table_name))
        local_keys: list[tuple[str, str, ApiKeyScope]] = [
            ("local", api_keys.api_key, "server"),
            ("local admin", api_keys.admin_api_key, "admin"),  # /v1/admin: no IAM locally
        ]
        for name, key, scope in local_keys:
            if keys.by_hash(key_hash(key)) is None:  # a restored table has it already
                ApiKeyService(keys).create(name, key, scope=scope)

        roles = _function_roles(template, resolver, specs, options.state_dir)
        for spec in specs:
            variables = {k: str(v) for k, v in resolver.resolve(spec.environment).items()}
            environment = function_environment(spec, variables, endpoint_url=self.endpoint_url, region=REGION)
            environment.update(roles[spec.logical_id].environment())  # its own role's (ADR 0017)
            http = any(event.type == "HttpApi" for event in spec.events)
            self._pools[spec.logical_id] = FunctionPool(
                spec, environment, logs, max_workers=options.max_workers if http else 2
            )
        with ThreadPoolExecutor() as pool:
            list(pool.map(lambda p: p.prewarm(), self._pools.values()))

        self._wire_triggers(specs, resolver, clients)
        try:
            self._api = HttpApi((options.host, options.api_port), routes(specs), self.invoke)
        except OSError as error:  # taken since the check above
            if error.errno == errno.EADDRINUSE:
                raise self._api_port_in_use() from None
            raise
        threading.Thread(target=self._api.serve_forever, daemon=True, name="http-api").start()

        self.outputs = StackOutputs(
            api_url=self.api_url,
            table_name=table_name,
            event_bus_name=resolver.ref("EventBus"),
            qualify_failure_queue_url=resolver.ref("QualifyFailureQueue"),
            exceptions_queue_url=resolver.ref("ExceptionsQueue"),
            reward_events_dlq_url=resolver.ref("RewardEventsDLQ"),
            issue_reward_failure_queue_url=resolver.ref("IssueRewardFailureQueue"),
            hook_events_dlq_url=resolver.ref("HookEventsDLQ"),
            announce_referrals_failure_queue_url=resolver.ref("AnnounceReferralsFailureQueue"),
            deliver_events_failure_queue_url=resolver.ref("DeliverEventsFailureQueue"),
            region=REGION,
            endpoint_url=self.endpoint_url,
            api_key=api_keys.api_key,
            admin_api_key=api_keys.admin_api_key,
        )
        self.outputs.write(options.state_dir)
        return self.outputs

    def _api_port_in_use(self) -> PortInUse:
        return PortInUse(self.options.host, self.options.api_port, "the HTTP API", "API_PORT", "--api-port")

    def _start_moto(self, logs: Path) -> None:
        log = (logs / "moto.log").open("ab")
        self._moto = subprocess.Popen(  # noqa: S603 - our own interpreter running moto's server
            [
                sys.executable,
                "-m",
                "referrals_local.stack.aws_endpoint",
                "-H",
                self.options.host,
                "-p",
                str(self.options.aws_port),
                "--state-file",
                str(local_state.snapshot_path(self.options.state_dir)),
                "--snapshot-interval",
                str(self.options.snapshot_interval),
                "--parent-pid",
                str(os.getpid()),
                "--iam-roles",
                str(self.options.state_dir / iam_roles.ROLES_FILE),
                "--chaos",
                self.options.chaos,
                "--chaos-seed",
                str(self.options.chaos_seed),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 20
        while _port_free(self.options.host, self.options.aws_port):
            if self._moto.poll() is not None or time.monotonic() > deadline:
                raise StartFailed(f"the AWS endpoint did not start: see {logs / 'moto.log'}")
            time.sleep(0.05)

    def _wire_triggers(self, specs: list[FunctionSpec], resolver: Resolver, clients: ClientFactory) -> None:
        options = self.options
        StreamCheckpoints(clients("dynamodb")).ensure_table()
        for spec in specs:
            invoker = AsyncInvoker(
                spec, resolver, clients, self.invoke, retry_delays=options.async_retry_delays
            )
            self._stoppables.append(invoker)
            for event in spec.events:
                if event.type == "DynamoDB":
                    self._stoppables.append(
                        StreamPoller(
                            spec,
                            event,
                            resolver,
                            clients,
                            self.invoke,
                            retry_delay=options.stream_retry_delay,
                        )
                    )
                elif event.type == "EventBridgeRule":
                    self._stoppables.append(RuleTarget(spec, event, resolver, clients, invoker))
                elif event.type in ("Schedule", "ScheduleV2"):
                    self._stoppables.append(Schedule(spec, event, invoker, at_most=options.schedule_every))
                elif event.type != "HttpApi":
                    raise ValueError(f"{spec.logical_id}: event type {event.type} does not run locally")
        for component in self._stoppables:
            component.start()

    def invoke(self, function: FunctionSpec, payload: bytes, trigger: str) -> InvokeResult:
        result = self._pools[function.logical_id].invoke(payload)
        self._log(function, trigger, result)
        return result

    def stop(self) -> None:
        if self._api is not None:
            self._api.shutdown()
            self._api.server_close()
        for component in reversed(self._stoppables):
            component.stop()
        for pool in self._pools.values():
            pool.stop()
        if self._moto is not None and self._moto.poll() is None:
            self._moto.terminate()  # it writes a last snapshot, then exits
            try:
                self._moto.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self._moto.kill()
        if self.outputs is not None:
            (self.options.state_dir / OUTPUTS_FILE).unlink(missing_ok=True)
