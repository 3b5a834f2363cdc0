"""An API Gateway HTTP API resolver with the project's error mapping and request validation, shared by
the HTTP functions.

Powertools validates a typed route's path, query and body itself (`enable_validation`), but before
every middleware of the app: an anonymous caller would learn about field errors before hearing 401.
Here the same validation middleware runs last, after the app's own middlewares (authentication), and
is imported on the first request that needs it, not at cold init (docs/adr/0006).
"""

from __future__ import annotations

import binascii
from collections.abc import Callable, Collection, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from pydantic import ValidationError

from referral_engine.domain.errors import DomainError
from referral_engine.web.errors import error_body, invalid_body, refusal
from referral_engine.web.request_ids import answered
from referral_engine.web.requests import API_MAX_BODY_BYTES, json_object

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

Middleware = Callable[[APIGatewayHttpResolver, NextMiddleware], Response[Any]]


def json_response(status: int, body: str, headers: dict[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=status, content_type=content_types.APPLICATION_JSON, body=body, headers=headers
    )


class RequestIdResolver(APIGatewayHttpResolver):
    """Answers every request, errors and unknown routes included, with its request id."""

    def resolve(self, event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
        return answered(event, partial(super().resolve, event, context))


def new_resolver(logger: Logger, *, max_body_bytes: int = API_MAX_BODY_BYTES) -> APIGatewayHttpResolver:
    """A resolver whose JSON bodies are size-checked objects (413, 400) and whose errors are our 4xx
    JSON. Add `validate_request` as the last of its middlewares."""
    app = RequestIdResolver(json_body_deserializer=partial(json_object, limit=max_body_bytes))

    @app.exception_handler(DomainError)  # type: ignore[untyped-decorator]
    def _domain_error(error: DomainError) -> Response[str]:
        return json_response(*refusal(error, logger))

    @app.exception_handler([ValidationError, RequestValidationError])  # type: ignore[untyped-decorator]
    def _invalid(error: ValidationError | RequestValidationError) -> Response[str]:
        return json_response(422, invalid_body(validation_details(error), logger))

    @app.exception_handler([UnicodeDecodeError, binascii.Error])  # type: ignore[untyped-decorator]
    def _undecodable(_: ValueError) -> Response[str]:
        # Raised wherever the body is first read as text: API Gateway base64-encodes binary bodies.
        return json_response(400, error_body("invalid_body", "the body is not UTF-8 text"))

    @app.exception_handler(RequestUnsupportedContentType)  # type: ignore[untyped-decorator]
    def _unsupported(_: RequestUnsupportedContentType) -> Response[str]:
        return json_response(415, error_body("unsupported_media_type", "send the body as application/json"))

    @app.not_found
    def _no_route(_: Exception) -> Response[str]:
        return json_response(404, error_body("not_found", "no such route"))

    return app


def validation_details(error: ValidationError | RequestValidationError) -> list[dict[str, str]]:
    """Each refused field and why, never the value sent. A body's fields are named as in the body
    (`reward.amount`), a query's or path's with their place (`query.limit`)."""
    issues = error.errors(include_url=False) if isinstance(error, ValidationError) else error.errors()
    return [{"field": _field(issue["loc"]), "message": issue["msg"]} for issue in issues]


def _field(loc: Sequence[str | int]) -> str:
    parts = [str(part) for part in loc]
    if parts[:1] == ["body"] and len(parts) > 1:
        parts = parts[1:]
    elif parts[:1] in (["query"], ["header"]) and len(parts) > 2:
        del parts[1]  # a query model's parameter name: a query's values are never nested otherwise
    return ".".join(parts) or "body"


_validation: list[Middleware] = []
# Read as JSON: `curl -d` labels a JSON body as a form, and so do some HTTP clients by default.
_JSON_BODY_TYPES = ("", "application/json", "application/x-www-form-urlencoded")


def validate_request(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[Any]:
    """Powertools' request validation of the route's typed path, query, header and body parameters
    (a 422 on failure), imported on first use. A typed body is always JSON: a body sent with another
    media type than those above (text, multipart, XML, ...) is a 415."""
    if not _validation:
        from aws_lambda_powertools.event_handler.middlewares.openapi_validation import (
            OpenAPIRequestValidationMiddleware,
        )
        from aws_lambda_powertools.event_handler.types import EventHandlerInstance

        class JsonBodyValidation(OpenAPIRequestValidationMiddleware):
            def _get_body(self, app: EventHandlerInstance) -> dict[str, Any]:
                content_type = app.current_event.headers.get("content-type") or ""
                if content_type.split(";")[0].strip().lower() not in _JSON_BODY_TYPES:
                    raise RequestUnsupportedContentType(
                        "Unsupported content type",
                        errors=[{"type": "unsupported_content_type", "loc": ("body",), "msg": content_type}],
                    )
                body: dict[str, Any] = self._parse_json_data(app)
                return body

        _validation.append(JsonBodyValidation())  # type: ignore[no-untyped-call]
    return _validation[0](app, next_middleware)


def except_on(paths: Collection[str], middleware: Middleware) -> Middleware:
    """`middleware` on every route except those at `paths` (e.g. no API key for a public document)."""

    def unless_exempt(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[Any]:
        if app.current_event.path in paths:
            return next_middleware(app)
        return middleware(app, next_middleware)

    return unless_exempt
