"""Chaos mode in the local AWS endpoint (ADR 0016): the faults `stack/chaos.py` decides, applied to moto's
requests, and `/_referrals/chaos` to read or replace the spec while the endpoint serves.

The runner's own calls (stream polling, bus rules, async invocation: AWS's machinery, not the engine's
code) carry RUNNER_HEADER and meet no faults.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Callable, Iterable
from typing import Any

from moto.core.responses import BaseResponse

from referrals_local.stack.chaos import RUNNER_HEADER, Chaos, ChaosSpecError, aws_error

ACTIVE = Chaos()
CONTROL_PATH = "/_referrals/chaos"

Response = tuple[int, dict[str, str], Any]


def _hang_up(handler: BaseResponse, hold: float) -> None:
    """Hold the request, then close its connection: the client gets no answer."""
    time.sleep(hold)
    connection = getattr(handler.normalized_request, "environ", {}).get("werkzeug.socket")
    if connection is not None:
        with contextlib.suppress(OSError):  # gone already
            connection.shutdown(socket.SHUT_RDWR)


def injecting(call_action: Callable[[BaseResponse], Response]) -> Callable[[BaseResponse], Response]:
    """moto's call_action with ACTIVE's faults: latency, then a failure answered before the operation
    runs (or, for timeout-after, a lost answer after it ran)."""

    def call(self: BaseResponse) -> Response:
        if not ACTIVE.rules or self.headers.get(RUNNER_HEADER):
            return call_action(self)
        service, operation = self.service_name or "", self._get_action()
        decision = ACTIVE.decide(service, operation)
        if decision.latency:
            time.sleep(decision.latency)
        failure = decision.failure
        if failure is None:
            return call_action(self)
        if failure.fault == "timeout-after":
            answer = call_action(self)
            _hang_up(self, failure.seconds)
            return answer
        if failure.fault == "timeout":
            _hang_up(self, failure.seconds)
            return 504, {}, ""  # never reaches the client
        return aws_error(service, operation, failure.fault)

    return call


class ControlledApp:
    """The endpoint's WSGI app, answering CONTROL_PATH itself: GET shows the spec and what was injected,
    PUT replaces the spec (the body, `text/plain`; empty: no faults)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __getattr__(self, name: str) -> Any:
        return getattr(self.app, name)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != CONTROL_PATH:
            return self.app(environ, start_response)  # type: ignore[no-any-return]
        status, body = "200 OK", ACTIVE.describe()
        if environ["REQUEST_METHOD"] == "PUT":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            try:
                ACTIVE.replace(environ["wsgi.input"].read(length).decode())
                body = ACTIVE.describe()
            except (ChaosSpecError, UnicodeDecodeError) as error:
                status, body = "400 Bad Request", {"error": str(error)}
        data = json.dumps(body).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]


def controlled(app_class: Callable[..., Any]) -> Callable[..., ControlledApp]:
    def make(*args: Any, **kwargs: Any) -> ControlledApp:
        return ControlledApp(app_class(*args, **kwargs))

    return make
