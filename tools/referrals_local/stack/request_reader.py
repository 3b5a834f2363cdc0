"""What API Gateway (HTTP API) refuses before any function runs, and reading a request's body.

The limits are the HTTP API quotas: the request line and the header values together at most 10,240
bytes, a payload of at most 10 MB
(https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html). A refusal is
answered as API Gateway answers its own: a JSON `{"message": ...}`. API Gateway documents the limits,
not the status of each refusal: where it does not say, the status is HTTP's own for the case
(RFC 9110, RFC 6585).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from http import HTTPStatus
from io import BufferedIOBase

MAX_BODY_BYTES = 10 * 1024 * 1024  # "Payload size: 10 MB"
MAX_HEAD_BYTES = 10240  # "Total combined size of request line and header values: 10240 bytes"
_CHUNK_SIZE_LINE_MAX = 1024
_TRAILER_LINES_MAX = 100
_DIGITS = re.compile(r"^[0-9]+$")
_HEX = re.compile(r"^[0-9A-Fa-f]+$")


class Refusal(Exception):
    """A request the gateway answers itself, without invoking a function."""

    def __init__(self, status: HTTPStatus, message: str | None = None) -> None:
        super().__init__(message or status.phrase)
        self.status = status
        self.message = message or status.phrase

    @property
    def body(self) -> bytes:
        return json.dumps({"message": self.message}).encode()


def check_head(request_line: str, headers: Iterable[tuple[str, str]]) -> None:
    """A URL, or a URL and headers, longer than the quota allows."""
    size = len(request_line.encode("latin-1", "replace"))
    if size > MAX_HEAD_BYTES:
        raise Refusal(HTTPStatus.REQUEST_URI_TOO_LONG)
    size += sum(len(value.encode("latin-1", "replace")) for _, value in headers)
    if size > MAX_HEAD_BYTES:
        raise Refusal(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE)


def read_body(headers: list[tuple[str, str]], stream: BufferedIOBase) -> bytes:
    """The body as framed by Content-Length or chunked Transfer-Encoding: a 400 for framing that
    cannot be trusted (a bad or conflicting length, both framings at once, a broken chunk or a body
    cut short), a 501 for a transfer coding other than chunked, a 413 past the payload limit."""
    lengths = {value.strip() for name, value in headers if name.lower() == "content-length"}
    codings = [
        coding.strip().lower()
        for name, value in headers
        if name.lower() == "transfer-encoding"
        for coding in value.split(",")
    ]
    if codings:
        if lengths:
            raise Refusal(HTTPStatus.BAD_REQUEST)  # the framing request smuggling relies on
        if codings != ["chunked"]:
            raise Refusal(HTTPStatus.NOT_IMPLEMENTED)
        return _read_chunked(stream)
    if not lengths:
        return b""
    if len(lengths) > 1 or not _DIGITS.fullmatch(next(iter(lengths))):
        raise Refusal(HTTPStatus.BAD_REQUEST)
    length = int(next(iter(lengths)))
    if length > MAX_BODY_BYTES:
        raise Refusal(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
    return _read_exactly(stream, length)


def _read_exactly(stream: BufferedIOBase, length: int) -> bytes:
    body = stream.read(length) if length else b""
    if len(body) != length:
        raise Refusal(HTTPStatus.BAD_REQUEST)
    return body


def _read_chunked(stream: BufferedIOBase) -> bytes:
    body = bytearray()
    while True:
        line = stream.readline(_CHUNK_SIZE_LINE_MAX + 1)
        size_text = line.split(b";", 1)[0].strip().decode("latin-1")
        if not line.endswith(b"\n") or not _HEX.fullmatch(size_text):
            raise Refusal(HTTPStatus.BAD_REQUEST)
        size = int(size_text, 16)
        if len(body) + size > MAX_BODY_BYTES:
            raise Refusal(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
        if size == 0:
            break
        body += _read_exactly(stream, size)
        if stream.readline(3) not in (b"\r\n", b"\n"):
            raise Refusal(HTTPStatus.BAD_REQUEST)
    for _ in range(_TRAILER_LINES_MAX):  # trailer fields, up to the empty line
        line = stream.readline(_CHUNK_SIZE_LINE_MAX + 1)
        if line in (b"\r\n", b"\n"):
            return bytes(body)
        if not line.endswith(b"\n"):
            break
    raise Refusal(HTTPStatus.BAD_REQUEST)
