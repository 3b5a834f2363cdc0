"""Functions run as Lambda runs them: AWS's runtime interface client (`awslambdaric`) in a process of
its own, talking to a local implementation of the Lambda Runtime API. Each worker keeps its module
state warm between invocations; a pool adds workers (cold starts) when all are busy, up to a limit."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any

from referrals_local.stack.model import FunctionSpec

_API = "/2018-06-01/runtime"


@dataclass
class InvokeResult:
    ok: bool
    payload: bytes
    duration_ms: float
    cold: bool
    error_type: str | None = None

    def json(self) -> Any:
        return json.loads(self.payload) if self.payload else None

    @property
    def error_message(self) -> str:
        if self.ok:
            return ""
        try:
            return str(self.json().get("errorMessage", ""))
        except (ValueError, AttributeError):
            return self.payload.decode(errors="replace")


@dataclass
class _Invocation:
    request_id: str
    payload: bytes
    deadline_ms: int
    done: threading.Event = field(default_factory=threading.Event)
    ok: bool = False
    response: bytes = b""
    error_type: str | None = None


class _RuntimeApi(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, worker: Worker) -> None:
        super().__init__(("127.0.0.1", 0), _RuntimeApiHandler)
        self.worker = worker

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A worker killed mid-request (timeout, shutdown) drops its connection: nothing to report."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _RuntimeApiHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _RuntimeApi

    def log_message(self, format: str, *args: Any) -> None:
        """The Runtime API is chatty; the runner logs one line per invocation instead."""

    def _reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path != f"{_API}/invocation/next":
            self._reply(404)
            return
        worker = self.server.worker
        invocation = worker.pending.get()
        if invocation is None:  # the worker is being stopped
            self._reply(410)
            return
        worker.current = invocation
        self._reply(
            200,
            invocation.payload,
            {
                "Content-Type": "application/json",
                "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
                "Lambda-Runtime-Deadline-Ms": str(invocation.deadline_ms),
                "Lambda-Runtime-Invoked-Function-Arn": worker.spec.arn,
                "Lambda-Runtime-Trace-Id": f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Sampled=0",
            },
        )

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        worker = self.server.worker
        if self.path == f"{_API}/init/error":
            worker.init_error = body
            self._reply(202)
            return
        parts = self.path.removeprefix(f"{_API}/invocation/").split("/")
        invocation = worker.current
        if len(parts) != 2 or invocation is None or parts[0] != invocation.request_id:
            self._reply(400)
            return
        invocation.ok = parts[1] == "response"
        invocation.response = body
        invocation.error_type = (
            None if invocation.ok else self.headers.get("Lambda-Runtime-Function-Error-Type")
        )
        worker.current = None
        invocation.done.set()
        self._reply(202)


class Worker:
    """One execution environment: a process running the handler, fed one invocation at a time."""

    def __init__(self, spec: FunctionSpec, environment: dict[str, str], log: IO[bytes], index: int) -> None:
        self.spec = spec
        self.pending: queue.Queue[_Invocation | None] = queue.Queue()
        self.current: _Invocation | None = None
        self.init_error: bytes | None = None
        self.invocations = 0
        self.prewarmed = False  # started ahead of demand, so its first invocation is not a cold start
        self._api = _RuntimeApi(self)
        threading.Thread(target=self._api.serve_forever, daemon=True, name=f"{spec.short_name}-api").start()
        env = {
            **environment,
            "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{self._api.server_address[1]}",
            "AWS_LAMBDA_LOG_STREAM_NAME": f"{time.strftime('%Y/%m/%d')}/[$LATEST]{uuid.uuid4().hex}",
        }
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and the template's handler
            [sys.executable, "-m", "awslambdaric", spec.handler],
            cwd=spec.code_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.name = f"{spec.short_name}#{index}"

    def invoke(self, payload: bytes) -> InvokeResult:
        started = time.monotonic()
        cold = self.invocations == 0 and not self.prewarmed
        self.invocations += 1
        invocation = _Invocation(
            request_id=str(uuid.uuid4()),
            payload=payload,
            deadline_ms=int((time.time() + self.spec.timeout) * 1000),
        )
        self.pending.put(invocation)
        deadline = started + self.spec.timeout + (10 if cold else 0)  # Lambda's init phase has its own budget
        while not invocation.done.wait(0.05):
            if self.init_error is not None or self.process.poll() is not None:
                return self._failed(started, cold, self.init_error, "Runtime.ExitError", "the runtime exited")
            if time.monotonic() > deadline:
                self.stop()
                return self._failed(
                    started,
                    cold,
                    None,
                    "Sandbox.Timedout",
                    f"Task timed out after {self.spec.timeout:.2f} seconds",
                )
        duration = (time.monotonic() - started) * 1000
        return InvokeResult(invocation.ok, invocation.response, duration, cold, invocation.error_type)

    def _failed(
        self, started: float, cold: bool, body: bytes | None, error_type: str, message: str
    ) -> InvokeResult:
        payload = body or json.dumps({"errorMessage": message, "errorType": error_type}).encode()
        return InvokeResult(False, payload, (time.monotonic() - started) * 1000, cold, error_type)

    @property
    def alive(self) -> bool:
        return self.process.poll() is None and self.init_error is None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.pending.put(None)
        self._api.shutdown()
        self._api.server_close()


class FunctionPool:
    """Invokes one function: an idle warm worker if there is one, else a new one (a cold start)."""

    def __init__(
        self, spec: FunctionSpec, environment: dict[str, str], log_dir: Path, max_workers: int
    ) -> None:
        self.spec = spec
        self._environment = environment
        self._log = (log_dir / f"{spec.short_name}.log").open("ab")
        self._max_workers = max_workers
        self._idle: list[Worker] = []
        self._workers: list[Worker] = []
        self._lock = threading.Condition()
        self._started = 0
        self._stopped = False

    def prewarm(self) -> None:
        with self._lock:
            worker = self._new_worker()
            worker.prewarmed = True
            self._idle.append(worker)

    def _new_worker(self) -> Worker:
        self._started += 1
        worker = Worker(self.spec, self._environment, self._log, self._started)
        self._workers.append(worker)
        return worker

    def _acquire(self) -> Worker:
        with self._lock:
            while True:
                if self._stopped:
                    raise RuntimeError(f"{self.spec.short_name} is stopped")
                self._idle = [w for w in self._idle if w.alive]
                if self._idle:
                    return self._idle.pop()
                self._workers = [w for w in self._workers if w.alive]
                if len(self._workers) < self._max_workers:
                    return self._new_worker()
                self._lock.wait(0.1)

    def invoke(self, payload: bytes) -> InvokeResult:
        worker = self._acquire()
        try:
            return worker.invoke(payload)
        finally:
            with self._lock:
                if worker.alive:
                    self._idle.append(worker)
                else:
                    worker.stop()
                self._lock.notify()

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            workers, self._workers, self._idle = self._workers, [], []
        for worker in workers:
            worker.stop()
        self._log.close()


def function_environment(
    spec: FunctionSpec, variables: dict[str, str], *, endpoint_url: str, region: str
) -> dict[str, str]:
    """What Lambda puts in a function's environment, plus the template's variables and the local
    endpoint. The runner's own environment is not inherited, so nothing leaks in by accident."""
    python_path = [str(spec.code_dir), *(str(layer) for layer in spec.layer_dirs)]
    inherited = {
        key: os.environ[key] for key in ("PATH", "HOME", "LANG", "TZ", "SYSTEMROOT") if key in os.environ
    }
    return {
        **inherited,
        **variables,
        "PYTHONPATH": os.pathsep.join(python_path),
        "LAMBDA_TASK_ROOT": str(spec.code_dir),
        "_HANDLER": spec.handler,
        "AWS_EXECUTION_ENV": "AWS_Lambda_python_local",
        "AWS_LAMBDA_FUNCTION_NAME": spec.name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
        "AWS_LAMBDA_LOG_FORMAT": spec.log_format,
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "LAMBDA_DISABLE_PREVIEW_WARN": "1",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_SESSION_TOKEN": "local",
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        "PYTHONUNBUFFERED": "1",
    }
