"""The HTTP API: routes from the template's HttpApi events to functions, API Gateway payload v2."""

from __future__ import annotations

import base64
import json
import re
import traceback
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from referrals_local.stack.model import ACCOUNT, FunctionSpec
from referrals_local.stack.request_reader import Refusal, check_head, read_body
from referrals_local.stack.runtime import InvokeResult

API_ID = "local"
# Seconds a client may pause while sending a request before the gateway gives up on it.
IDLE_TIMEOUT_S = 30
# The body goes to the function as text only for these types, and only when it is UTF-8 (API
# Gateway's HTTP API infers the encoding from the content type; what it does with a "text" body that
# is not UTF-8 it does not document: here the function gets its exact bytes, base64-encoded).
_TEXT_TYPES = re.compile(r"^(text/.*|application/(json|xml|javascript)|application/[\w.+-]+\+(json|xml))$")


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # the template's path, e.g. /r/{code}
    function: FunctionSpec
    pattern: re.Pattern[str]

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


def routes(functions: list[FunctionSpec]) -> list[Route]:
    found = []
    for spec in functions:
        for event in spec.events:
            if event.type != "HttpApi":
                continue
            path = event.properties["Path"]
            regex = re.sub(r"\\\{(\w+)\\\+\\\}", r"(?P<\1>.+)", re.escape(path))
            regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", regex)
            found.append(Route(event.properties["Method"].upper(), path, spec, re.compile(f"^{regex}$")))
    # Literal segments win over parameters, as API Gateway's "most specific route" does.
    return sorted(found, key=lambda r: (r.path.count("{"), -len(r.path)))


def _is_text(content_type: str) -> bool:
    return bool(_TEXT_TYPES.match(content_type.split(";", maxsplit=1)[0].strip().lower()))


def _as_text(body: bytes, content_type: str) -> str | None:
    if not _is_text(content_type):
        return None
    try:
        return body.decode()
    except UnicodeDecodeError:
        return None


def build_event(
    route: Route,
    method: str,
    target: str,
    headers: Mapping[str, str] | Iterable[tuple[str, str]],
    body: bytes,
    source_ip: str,
    path_parameters: dict[str, str],
) -> dict[str, Any]:
    parts = urlsplit(target)
    now = datetime.now(UTC)
    lowered: dict[str, str] = {}
    cookies: list[str] = []
    # Duplicate headers are combined with commas, as payload format 2.0 does.
    for name, value in headers.items() if isinstance(headers, Mapping) else headers:
        key = name.lower()
        if key == "cookie":
            cookies += [c.strip() for c in value.split(";") if c.strip()]
            continue
        lowered[key] = f"{lowered[key]},{value}" if key in lowered else value
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.key,
        "rawPath": parts.path,
        "rawQueryString": parts.query,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = lowered
    query: dict[str, str] = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value
    if query:
        event["queryStringParameters"] = query
    host = lowered.get("host", "127.0.0.1")
    # No `authorizer` ever: this gateway verifies no SigV4 signature, so it vouches for no IAM caller
    # (the admin routes then need an admin API key locally).
    event["requestContext"] = {
        "accountId": ACCOUNT,
        "apiId": API_ID,
        "domainName": host,
        "domainPrefix": host.split(".")[0],
        "http": {
            "method": method,
            "path": parts.path,
            "protocol": "HTTP/1.1",
            "sourceIp": source_ip,
            "userAgent": lowered.get("user-agent", ""),
        },
        "requestId": base64.b64encode(uuid.uuid4().bytes[:10]).decode(),
        "routeKey": route.key,
        "stage": "$default",
        "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(now.timestamp() * 1000),
    }
    if path_parameters:
        event["pathParameters"] = path_parameters
    if body:
        text = _as_text(body, lowered.get("content-type", ""))
        event["body"] = base64.b64encode(body).decode() if text is None else text
        event["isBase64Encoded"] = text is None
    else:
        event["isBase64Encoded"] = False
    return event


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def to_http(result: InvokeResult) -> HttpResponse:
    """Payload format 2.0 response mapping, including its 'simple response' inference."""
    json_type = [("Content-Type", "application/json")]
    if not result.ok:
        status = 504 if result.error_type == "Sandbox.Timedout" else 500
        message = "Service Unavailable" if status == 504 else "Internal Server Error"
        return HttpResponse(status, json_type, json.dumps({"message": message}).encode())
    output = result.json()
    if not isinstance(output, dict) or "statusCode" not in output:
        return HttpResponse(200, json_type, json.dumps(output).encode())
    headers = [(str(k), str(v)) for k, v in (output.get("headers") or {}).items()]
    for name, values in (output.get("multiValueHeaders") or {}).items():
        headers.extend((name, str(v)) for v in values)
    headers.extend(("Set-Cookie", cookie) for cookie in output.get("cookies") or [])
    body = output.get("body") or ""
    raw = base64.b64decode(body) if output.get("isBase64Encoded") else str(body).encode()
    return HttpResponse(int(output["statusCode"]), headers, raw)


Invoker = Callable[[FunctionSpec, bytes, str], InvokeResult]


class HttpApi(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], table: list[Route], invoke: Invoker) -> None:
        super().__init__(address, _Handler)
        self.table = table
        self.invoke = invoke


class _Handler(BaseHTTPRequestHandler):
    """Never a dropped connection nor a traceback: what API Gateway refuses itself gets its JSON
    `{"message": ...}`, a function's failure a 500/504 as API Gateway maps it."""

    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT_S
    server: HttpApi

    def log_message(self, format: str, *args: Any) -> None:
        """The runner prints one line per invocation instead."""

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (a malformed request line, a header line too long, too many
        headers, an unknown method), in API Gateway's body instead of an HTML page."""
        self._refuse(Refusal(HTTPStatus(code)))

    def _refuse(self, refusal: Refusal) -> None:
        # What follows a refused request's head cannot be trusted to be the next request.
        self.close_connection = True
        # http.server takes a request line it cannot read for HTTP/0.9, which has no status line.
        self.request_version = self.protocol_version
        self._send(HttpResponse(refusal.status, [("Content-Type", "application/json")], refusal.body))

    def _send(self, response: HttpResponse) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def _handle(self) -> None:
        try:
            headers = list(self.headers.items())
            check_head(self.requestline, headers)
            body = read_body(headers, self.rfile)
        except Refusal as refusal:
            self._refuse(refusal)
            return
        except TimeoutError:
            self.close_connection = True  # the client stopped sending: nothing to answer
            return
        try:
            response = self._route(headers, body)
        except Exception:  # a bug of this gateway: a 500, as API Gateway's own failures are
            traceback.print_exc()
            self._refuse(Refusal(HTTPStatus.INTERNAL_SERVER_ERROR))
            return
        self._send(response)

    def _route(self, headers: list[tuple[str, str]], body: bytes) -> HttpResponse:
        path = urlsplit(self.path).path
        for route in self.server.table:
            match = route.pattern.match(path)
            if match and route.method in (self.command, "ANY"):
                event = build_event(
                    route, self.command, self.path, headers, body, self.client_address[0], match.groupdict()
                )
                result = self.server.invoke(route.function, json.dumps(event).encode(), f"http {route.key}")
                return to_http(result)
        return HttpResponse(404, [("Content-Type", "application/json")], b'{"message":"Not Found"}')

    def __getattr__(self, name: str) -> Any:
        """Every method is routed (`do_GET`, `do_BREW`, …): one without a route is a 404, as on AWS."""
        if name.startswith("do_"):
            return self._handle
        raise AttributeError(name)
