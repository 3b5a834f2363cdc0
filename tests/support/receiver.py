"""An HTTP server on 127.0.0.1 standing in for Zapier or Make: records every POST a hook delivers and
answers 200, unless a path has scripted answers or chaos mode (ADR 0016) draws a fault for it: the
service name is `receiver`, the operation the method (`receiver:POST=500@0.3`)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from referrals_local.stack.chaos import Chaos, http_error
from support.background_server import in_background


@dataclass
class Received:
    path: str
    headers: dict[str, str]  # names lower-cased
    payload: dict[str, Any]
    status: int = 200  # what the receiver answered (0: no answer, the connection closed)


@dataclass
class Receiver:
    received: list[Received] = field(default_factory=list)
    answers: dict[str, list[int]] = field(default_factory=dict)  # path → the next answers, in order
    port: int = 0
    chaos: Chaos = field(default_factory=Chaos)

    def url(self, path: str = "/zap") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def at(self, path: str = "/zap") -> list[Received]:
        return [r for r in self.received if r.path == path]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {name.lower(): value for name, value in self.headers.items()}
            script = receiver.answers.get(self.path, [])
            status = script.pop(0) if script else 200
            extra: dict[str, str] = {}
            decision = receiver.chaos.decide("receiver", "POST")
            time.sleep(decision.latency)  # the fake is slow; the test itself waits by polling
            if decision.failure is not None and decision.failure.fault.startswith("timeout"):
                receiver.received.append(Received(self.path, headers, json.loads(body), 0))
                time.sleep(decision.failure.seconds)
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            if decision.failure is not None:
                status, extra = http_error(decision.failure.fault)
            receiver.received.append(Received(self.path, headers, json.loads(body), status))
            self.send_response(status)
            for name, value in {"Content-Length": "0", **extra}.items():
                self.send_header(name, value)
            self.end_headers()

    return Handler


@contextmanager
def receiving(chaos: str = "", seed: int = 0) -> Iterator[Receiver]:
    """A receiver for as long as the context lasts; `chaos`: a chaos spec for its answers."""
    receiver = Receiver(chaos=Chaos.from_spec(chaos, seed))
    with in_background(ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))) as port:
        receiver.port = port
        yield receiver
