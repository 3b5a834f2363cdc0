"""The API Gateway request id on every answer (`Request-Id` header, `error.request_id`) and in the logs.

One id for one request wherever a person looks: the caller quotes it from the answer, the operator
finds the same value as the log lines' correlation id and in the HTTP API's access log.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import Any

REQUEST_ID_HEADER = "Request-Id"

_current: ContextVar[str | None] = ContextVar("request_id", default=None)


def request_id_of(event: Mapping[str, Any]) -> str | None:
    """`requestContext.requestId` of an API Gateway HTTP API event (payload v2)."""
    request_id = (event.get("requestContext") or {}).get("requestId")
    return str(request_id) if request_id else None


def current_request_id() -> str | None:
    """The id of the request being answered, None outside of one."""
    return _current.get()


def answered(event: Mapping[str, Any], respond: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """`respond()`'s answer to the event, with the request's id as `current_request_id()` meanwhile and
    in its `Request-Id` header. The handlers' `inject_lambda_context(correlation_id_path=
    correlation_paths.API_GATEWAY_HTTP)` puts the same value on the request's log lines."""
    request_id = request_id_of(event)
    if request_id is None:
        return respond()
    token = _current.set(request_id)
    try:
        response = respond()
    finally:
        _current.reset(token)
    response["headers"] = {**(response.get("headers") or {}), REQUEST_ID_HEADER: request_id}
    return response
