"""What the OpenAPI document says of every route's answers: its statuses, the error body, API keys."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from referral_engine.web.security import ADMIN, API_KEY, SECURITY_SCHEMES

__all__ = ["ADMIN", "API_KEY", "SECURITY_SCHEMES", "Error", "answers"]


class FieldError(BaseModel):
    field: str = Field(description="`reward.amount` for a body field, `query.limit` for a query one.")
    message: str


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable and machine-readable: `validation_error`, `not_found`, ...")
    message: str = Field(description="For people; never echoes the values sent.")
    details: list[FieldError] | None = Field(default=None, description="With `validation_error` only.")
    reasons: list[str] | None = Field(
        default=None, description="With `fraud_rejected` only: the fraud checks' reason codes (README)."
    )
    request_id: str | None = Field(
        default=None, description="The API Gateway request id, as in the `Request-Id` header and the logs."
    )


class Error(BaseModel):
    """Every 4xx answer's body."""

    error: ErrorDetail


_ERRORS = {
    400: "The body is not UTF-8 text or not a JSON object, or a value is refused "
    "(`invalid_body`, `invalid_json`, `invalid_request`).",
    401: "No valid API key (`unauthorized`).",
    403: "The key may not do this (`forbidden`).",
    404: "No such resource (`not_found`).",
    409: "It conflicts with what exists (e.g. `already_participant`).",
    413: "The body is too large (`payload_too_large`).",
    415: "The body is not JSON (`unsupported_media_type`).",
    422: "A field is missing, unknown or of the wrong type (`validation_error`, with `details`).",
}


def answers(success: dict[int, str], *errors: int, body: type[BaseModel] | None = None) -> dict[int, Any]:
    """A route's `responses`: its successes (a JSON object, `body` when given; nothing for a 204) and
    the error statuses it may answer, each with the `Error` body."""
    content = {"model": body} if body else {"schema": {"type": "object"}}
    documented: dict[int, Any] = {
        status: {
            "description": description,
            "content": {"application/json": content} if status != 204 else {},
        }
        for status, description in success.items()
    }
    for status in sorted(errors):
        documented[status] = {
            "description": _ERRORS[status],
            "content": {"application/json": {"model": Error}},
        }
    return documented
