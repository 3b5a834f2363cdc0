"""A function's routes as a table, and the one dispatch of an HTTP API (payload v2) event to them.

For inbound_webhook and admin, which must not load Powertools' resolver nor pydantic (cold init,
docs/adr/0011): the answers are the resolver's, byte for byte — the same error bodies and statuses,
`no such route` for any other method or path, the `Request-Id` header. Middlewares (web/auth.py,
web/idempotency.py) run before the route is looked up, as the resolver's did; a route's path
parameters and JSON body are records, checked before it is called. The table is also what the OpenAPI document
says of these routes (tools/openapi_document.py), so the two cannot drift apart.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, partial
from typing import Any, TypeVar

import msgspec
from aws_lambda_powertools import Logger

from referral_engine.domain.errors import DomainError
from referral_engine.domain.records import Invalid, parse, problems
from referral_engine.domain.stripped_text import FieldRefused
from referral_engine.web.errors import UnsupportedMediaType, error_body, invalid_body, refusal
from referral_engine.web.request_ids import answered
from referral_engine.web.requests import API_MAX_BODY_BYTES, json_object, raw_body

T = TypeVar("T")

Answer = dict[str, Any]  # the Lambda result: statusCode, headers, body, ...
# A path parameter's characters, as the resolver matched them (RFC 3986's unreserved and sub-delims,
# percent-encoded text): a value with others is no route.
_PARAMETER = r"[-._~()'!*:@,;=+&$%<> \[\]{}|^\w]+"
# msgspec names a missing or unknown field in its message, not in its path.
_NAMED_FIELD = re.compile(r"Object (?:missing required|contains unknown) field `(?P<field>[^`]+)`")
# Read as JSON: `curl -d` labels a JSON body as a form, and so do some HTTP clients by default.
_JSON_BODY_TYPES = ("", "application/json", "application/x-www-form-urlencoded")


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
        if isinstance(error.__cause__, FieldRefused):  # raised by the record's __post_init__
            where = error.__cause__.field
        elif named := _NAMED_FIELD.fullmatch(message):
            where = named["field"]
        raise InvalidFields([{"field": f"{place}.{where}" if place else where, "message": message}]) from None


@dataclass(frozen=True)
class Request:
    """The parts of the event the routes read."""

    event: dict[str, Any]
    context: Any = None  # the Lambda context
    actor: str | None = None  # who calls, once a middleware has authenticated them

    @property
    def method(self) -> str:
        return str(self.event["requestContext"]["http"]["method"])

    @property
    def headers(self) -> Mapping[str, str]:
        """Names in lower case, as API Gateway delivers them."""
        return self.event.get("headers") or {}

    def header(self, name: str) -> str | None:
        """A header by its name in any case."""
        name = name.lower()
        return next((value for key, value in self.headers.items() if key.lower() == name), None)

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
        return (self.header("content-type") or "").split(";")[0].strip().lower()

    def json_body(self, kind: type[T]) -> T | None:
        """A route's JSON object body as a `kind` (None when there is none): a 415 for a body labelled
        otherwise, a 400 for one that is no JSON object, a 413 beyond API_MAX_BODY_BYTES, a 422 for
        a refused field."""
        if self.content_type not in _JSON_BODY_TYPES:
            raise UnsupportedMediaType("send the body as application/json")
        text = self.text()
        return parse_fields(kind, json_object(text, API_MAX_BODY_BYTES)) if text else None

    def required_json_body(self, kind: type[T]) -> T:
        body = self.json_body(kind)
        if body is None:
            raise InvalidFields([{"field": "body", "message": "Field required"}])
        return body

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
    request_body: Mapping[str, Any] | None = None  # the OpenAPI `requestBody`, unless `body` says it
    path_parameters: type | None = None  # a record of its path parameters, checked before `handle`
    body: type | None = None  # the record its JSON body is read into
    body_required: bool = False
    answer_schema: str | None = None  # the component its successes answer (else any object)
    security: list[dict[str, list[str]]] | None = None

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        return re.compile(re.sub(r"\{(\w+)\}", lambda name: f"(?P<{name[1]}>{_PARAMETER})", self.path))


Respond = Callable[[Request], Answer]
Middleware = Callable[..., Answer]  # middleware(request, then=the rest of the dispatch) -> the answer


def dispatch(
    routes: list[Route],
    event: dict[str, Any],
    logger: Logger,
    middlewares: Sequence[Middleware] = (),
    context: Any = None,
) -> Answer:
    """The first route of the event's method whose path matches answers it, after the middlewares (the
    first listed runs first); errors become the 4xx answers of web/errors.py, each with the request's
    id, within every middleware (so that one keeping answers keeps the 4xx too)."""
    respond: Respond = partial(_handled, logger, partial(_route, routes))
    for middleware in reversed(middlewares):
        respond = partial(_handled, logger, partial(middleware, then=respond))
    return answered(event, lambda: respond(Request(event, context)))


def _route(routes: list[Route], request: Request) -> Answer:
    for route in routes:
        matched = route.pattern.fullmatch(request.path) if route.method == request.method else None
        if matched is None:
            continue
        parameters: dict[str, Any] = matched.groupdict()
        if route.path_parameters is not None:
            parameters = msgspec.structs.asdict(parse_fields(route.path_parameters, parameters, "path"))
        return route.handle(request, **parameters)
    return answer(404, error_body("not_found", "no such route"))


def _handled(logger: Logger, respond: Respond, request: Request) -> Answer:
    try:
        return respond(request)
    except DomainError as error:
        status, body, headers = refusal(error, logger)
        return answer(status, body, headers=headers)
    except InvalidFields as error:
        return answer(422, invalid_body(error.details, logger))
    except (UnicodeDecodeError, binascii.Error):
        return answer(400, error_body("invalid_body", "the body is not UTF-8 text"))
