"""A function's routes as a table, and the one dispatch of an HTTP API (payload v2) event to them.

For inbound_webhook, which must not load Powertools' resolver nor pydantic (cold init, docs/adr/0011):
the answers are the resolver's, byte for byte — the same error bodies and statuses, `no such route`
for any other method or path, the `Request-Id` header. The table is also what the OpenAPI document
says of these routes (tools/openapi_document.py), so the two cannot drift apart.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeVar

from aws_lambda_powertools import Logger

from referral_engine.domain.errors import DomainError
from referral_engine.domain.records import Invalid, parse, problems
from referral_engine.web.errors import error_body, invalid_body, refusal
from referral_engine.web.request_ids import answered
from referral_engine.web.requests import raw_body

T = TypeVar("T")

Answer = dict[str, Any]  # the Lambda result: statusCode, headers, body, ...
# A path parameter's characters, as the resolver matched them (RFC 3986's unreserved and sub-delims,
# percent-encoded text): a value with others is no route.
_PARAMETER = r"[-._~()'!*:@,;=+&$%<> \[\]{}|^\w]+"


def answer(
    status: int, body: str, content_type: str = "application/json", headers: Mapping[str, str] | None = None
) -> Answer:
    return {
        "statusCode": status,
        "headers": {"Content-Type": content_type, **(headers or {})},
        "body": body,
        "isBase64Encoded": False,
        "cookies": [],
    }


class InvalidFields(Exception):
    """A 422: the refused field (`query.amount` for a query's, `amount` for a body's) and why."""

    def __init__(self, details: list[dict[str, str]]) -> None:
        super().__init__("the request is not valid")
        self.details = details


def parse_fields(kind: type[T], values: Mapping[str, Any], place: str = "") -> T:
    """`values` as a `kind`, or `InvalidFields` naming the first refused field (under `place`)."""
    try:
        return parse(kind, values)
    except Invalid as error:
        where, _, message = problems(error).partition(": ")
        raise InvalidFields([{"field": f"{place}.{where}" if place else where, "message": message}]) from None


@dataclass(frozen=True)
class Request:
    """The parts of the event the routes read."""

    event: dict[str, Any]

    @property
    def method(self) -> str:
        return str(self.event["requestContext"]["http"]["method"])

    @property
    def headers(self) -> Mapping[str, str]:
        """Names in lower case, as API Gateway delivers them."""
        return self.event.get("headers") or {}

    @property
    def query(self) -> Mapping[str, str]:
        return self.event.get("queryStringParameters") or {}

    @property
    def body(self) -> bytes:
        return raw_body(self.event)

    def text(self) -> str:
        """The body as text; a 400 (`invalid_body`) when it is not UTF-8."""
        return self.body.decode()

    @property
    def content_type(self) -> str:
        return (self.headers.get("content-type") or "").split(";")[0].strip().lower()

    @property
    def path(self) -> str:
        """The path within the API: without the stage, unless it is the `$default` one."""
        path = str(self.event.get("rawPath") or "/")
        stage = self.event["requestContext"].get("stage", "$default")
        return path if stage == "$default" else path[len(f"/{stage}") :]


@dataclass(frozen=True)
class Route:
    """One operation: where it is, what answers it, and what the OpenAPI document says of it."""

    method: str
    path: str  # as in template.yaml: /hooks/{source}/{hook_id}
    handle: Callable[..., Answer]  # handle(request, **path_parameters)
    summary: str
    description: str = ""
    answers: Mapping[int, str] = field(default_factory=dict)  # its successes
    errors: tuple[int, ...] = ()  # the error statuses it may answer, each with the `Error` body
    query: type | None = None  # the record whose fields it reads from the query string
    request_body: Mapping[str, Any] | None = None  # the OpenAPI `requestBody`

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        return re.compile(re.sub(r"\{(\w+)\}", lambda name: f"(?P<{name[1]}>{_PARAMETER})", self.path))


def dispatch(routes: list[Route], event: dict[str, Any], logger: Logger) -> Answer:
    """The first route of the event's method whose path matches answers it; errors become the 4xx
    answers of web/errors.py, each with the request's id."""
    return answered(event, lambda: _answer(routes, Request(event), logger))


def _answer(routes: list[Route], request: Request, logger: Logger) -> Answer:
    for route in routes:
        matched = route.pattern.fullmatch(request.path) if route.method == request.method else None
        if matched is None:
            continue
        try:
            return route.handle(request, **matched.groupdict())
        except DomainError as error:
            status, body, headers = refusal(error, logger)
            return answer(status, body, headers=headers)
        except InvalidFields as error:
            return answer(422, invalid_body(error.details, logger))
        except (UnicodeDecodeError, binascii.Error):
            return answer(400, error_body("invalid_body", "the body is not UTF-8 text"))
    return answer(404, error_body("not_found", "no such route"))
