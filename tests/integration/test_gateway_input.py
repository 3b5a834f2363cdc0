"""The local HTTP API over a real socket, with what a client library would not send: bodies that are not
UTF-8, malformed, duplicate and oversized headers, bad framing, bad percent-encoding, over-long URLs.
The gateway answers as API Gateway does — its JSON `{"message": ...}` where it refuses before any
function, the function's answer otherwise — and never drops the connection nor stops serving."""

from __future__ import annotations

import base64
import json
import socket
import threading
from collections.abc import Iterator
from http.client import HTTPResponse
from typing import Any

import pytest

from referrals_local.stack.gateway import HttpApi, routes
from referrals_local.stack.model import FunctionSpec
from referrals_local.stack.request_reader import MAX_BODY_BYTES, MAX_HEAD_BYTES
from referrals_local.stack.runtime import InvokeResult
from support.function_specs import http_function


def echo(spec: FunctionSpec, payload: bytes, label: str) -> InvokeResult:
    """A function that answers with the event it was given (and one whose invocation breaks)."""
    if spec.name == "broken":
        raise RuntimeError("the gateway's own bug")
    answer = {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": payload.decode()}
    return InvokeResult(True, json.dumps(answer).encode(), 1.0, False)


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    table = routes(
        [
            http_function("hooks", ("POST", "/hooks/{source}/{hook_id}")),
            http_function("click", ("GET", "/r/{code}")),
            http_function("broken", ("GET", "/broken")),
        ]
    )
    server = HttpApi(("127.0.0.1", 0), table, echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def exchange(port: int, raw: bytes, *, half_close: bool = False) -> tuple[int, dict[str, str], bytes]:
    """Sends `raw` as is and reads one answer: its status, headers (names lower-cased) and body."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(raw)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        response = HTTPResponse(sock)
        response.begin()
        body = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body


def post(body: bytes, *headers: str) -> bytes:
    head = ["POST /hooks/stripe/h1 HTTP/1.1", "Host: 127.0.0.1", *headers, f"Content-Length: {len(body)}"]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


def event_of(port: int, raw: bytes) -> dict[str, Any]:
    status, _, body = exchange(port, raw)
    assert status == 200, body
    event: dict[str, Any] = json.loads(body)
    return event


def body_of(event: dict[str, Any]) -> bytes:
    body: str = event["body"]
    return base64.b64decode(body) if event["isBase64Encoded"] else body.encode()


LONG = "a" * (MAX_HEAD_BYTES + 1)
REFUSED = {
    "no request line": (b"GARBAGE\r\n\r\n", 400),
    "unknown HTTP version": (b"GET /r/x HTTP/9.9\r\nHost: h\r\n\r\n", 505),
    "a header line past http.server's limit": (
        b"GET /r/x HTTP/1.1\r\nX: " + b"a" * 70_000 + b"\r\n\r\n",
        431,
    ),
    "too many headers": (
        b"GET /r/x HTTP/1.1\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(120)) + b"\r\n",
        431,
    ),
    "an over-long URL": (f"GET /r/{LONG} HTTP/1.1\r\nHost: h\r\n\r\n".encode(), 414),
    "URL and headers over the quota": (
        f"GET /r/x HTTP/1.1\r\nX-A: {LONG[:6000]}\r\nX-B: {LONG[:6000]}\r\n\r\n".encode(),
        431,
    ),
    "a length that is not a number": (b"POST /hooks/s/h HTTP/1.1\r\nContent-Length: 1e3\r\n\r\n", 400),
    "a negative length": (b"POST /hooks/s/h HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400),
    "two lengths": (b"POST /hooks/s/h HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400),
    "a body over the payload limit": (
        f"POST /hooks/s/h HTTP/1.1\r\nContent-Length: {MAX_BODY_BYTES + 1}\r\n\r\n".encode(),
        413,
    ),
    "both framings": (
        b"POST /hooks/s/h HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        400,
    ),
    "an unknown transfer coding": (b"POST /hooks/s/h HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
    "a broken chunk": (b"POST /hooks/s/h HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n", 400),
    "a chunk longer than said": (
        b"POST /hooks/s/h HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n",
        400,
    ),
    "a chunked body over the payload limit": (
        b"POST /hooks/s/h HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n" % (MAX_BODY_BYTES + 1),
        413,
    ),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_what_api_gateway_refuses_gets_its_json_message_and_the_gateway_keeps_serving(
    port: int, name: str
) -> None:
    raw, expected = REFUSED[name]

    status, headers, body = exchange(port, raw)

    assert status == expected
    assert headers["content-type"] == "application/json"
    assert isinstance(json.loads(body)["message"], str)
    assert headers["connection"] == "close"
    assert exchange(port, b"GET /r/after HTTP/1.1\r\nHost: h\r\n\r\n")[0] == 200


def test_a_body_cut_short_is_a_400_not_a_hang(port: int) -> None:
    raw = b"POST /hooks/s/h HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc"

    status, _, body = exchange(port, raw, half_close=True)

    assert (status, json.loads(body)) == (400, {"message": "Bad Request"})


@pytest.mark.parametrize(
    ("content_type", "body", "as_text"),
    [
        ("application/json", '{"name": "Zoë"}'.encode(), True),
        ("application/json", b'{"name": "Zo\xeb"}', False),  # latin-1, not UTF-8
        ("text/plain; charset=latin-1", b"\xe9t\xe9", False),
        ("text/xml; charset=utf-8", b"<a>\xff\xfe</a>", False),
        ("application/octet-stream", b"\x00\x01\xff", False),
        ("application/x-www-form-urlencoded", b"a=1&b=%ff", False),
        (None, b"{}", False),
    ],
)
def test_a_body_reaches_the_function_as_text_only_when_its_type_is_text_and_it_is_utf8(
    port: int, content_type: str | None, body: bytes, as_text: bool
) -> None:
    headers = [f"Content-Type: {content_type}"] if content_type else []

    event = event_of(port, post(body, *headers))

    assert event["isBase64Encoded"] is not as_text
    assert body_of(event) == body


def test_a_chunked_body_reaches_the_function_whole(port: int) -> None:
    raw = b"POST /hooks/s/h HTTP/1.1\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
    raw += b"4\r\nWiki\r\n5;ext=1\r\npedia\r\n0\r\nX-Trailer: t\r\n\r\n"

    assert body_of(event_of(port, raw)) == b"Wikipedia"


def test_duplicate_headers_are_combined_with_commas_and_cookies_listed(port: int) -> None:
    raw = post(b"{}", "X-Tag: a", "x-tag: b", "Cookie: a=1; b=2", "Cookie: c=3", "X-Latin: caf\xe9")

    event = event_of(port, raw)

    assert event["headers"]["x-tag"] == "a,b"
    assert event["cookies"] == ["a=1", "b=2", "c=3"]
    assert event["headers"]["x-latin"] == "caf\xe9"


def test_bad_percent_encoding_reaches_the_function_as_sent(port: int) -> None:
    event = event_of(port, b"GET /r/%zz%ff%?x=%zz&y=%ff&z HTTP/1.1\r\nHost: h\r\n\r\n")

    assert (event["rawPath"], event["rawQueryString"]) == ("/r/%zz%ff%", "x=%zz&y=%ff&z")
    assert event["pathParameters"] == {"code": "%zz%ff%"}
    assert set(event["queryStringParameters"]) == {"x", "y", "z"}


def test_a_fault_of_the_gateway_itself_is_a_500_message_not_a_dropped_connection(port: int) -> None:
    status, _, body = exchange(port, b"GET /broken HTTP/1.1\r\nHost: h\r\n\r\n")

    assert (status, json.loads(body)) == (500, {"message": "Internal Server Error"})
    assert exchange(port, b"GET /r/after HTTP/1.1\r\nHost: h\r\n\r\n")[0] == 200


def test_an_unknown_route_or_method_is_not_found_as_json(port: int) -> None:
    for raw in (b"GET /nowhere HTTP/1.1\r\nHost: h\r\n\r\n", b"BREW /r/x HTTP/1.1\r\nHost: h\r\n\r\n"):
        assert exchange(port, raw)[::2] == (404, b'{"message":"Not Found"}')
