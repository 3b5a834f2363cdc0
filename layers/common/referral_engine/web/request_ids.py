"""The API Gateway request id on every answer (`Request-Id` header, `error.request_id`) and in the logs.

One id for one request wherever a person looks: the caller quotes it from the answer, the operator
finds the same value as the log lines' correlation id and in the HTTP API's access log.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

REQUEST_ID_HEADER = "Request-Id"

_current: ContextVar[str | None] = ContextVar("request_id", default=None)


def request_id_of(event: Mapping[str, Any]) -> str | None:
    """`requestContext.requestId` of an API Gateway HTTP API event (payload v2)."""
    request_id = (event.get("requestContext") or {}).get("requestId")
    return str(request_id) if request_id else None


def current_request_id() -> str | None:
    """The id of the request being answered, None outside of one."""
    return _current.get()


class RequestIdResolver(APIGatewayHttpResolver):
    """Answers every request, errors and unknown routes included, with its request id. The handlers'
    `inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)` puts the same value
    on the request's log lines."""

    def resolve(self, event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
        request_id = request_id_of(event)
        if request_id is None:
            return super().resolve(event, context)
        token = _current.set(request_id)
        try:
            response = super().resolve(event, context)
        finally:
            _current.reset(token)
        response["headers"] = {**(response.get("headers") or {}), REQUEST_ID_HEADER: request_id}
        return response
