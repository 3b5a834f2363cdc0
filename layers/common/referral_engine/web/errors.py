"""The one place where exceptions become HTTP answers: `{"error": {"code", "message"}}` with a 4xx."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from referral_engine.domain.errors import (
    Conflict,
    DomainError,
    FraudRejected,
    InvalidRequest,
    NotFound,
)
from referral_engine.domain.webhooks import MalformedWebhook, WebhookForbidden, WebhookRefused
from referral_engine.web.request_ids import current_request_id

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger


class MalformedJson(InvalidRequest):
    code = "invalid_json"


class PayloadTooLarge(InvalidRequest):
    code = "payload_too_large"


class Unauthorized(DomainError):
    code = "unauthorized"


class Forbidden(DomainError):
    code = "forbidden"


class UnsupportedMediaType(InvalidRequest):
    code = "unsupported_media_type"


class InvalidIdempotencyKey(InvalidRequest):
    code = "invalid_idempotency_key"


class IdempotencyKeyReused(InvalidRequest):
    code = "idempotency_key_reused"


class IdempotencyKeyInProgress(Conflict):
    code = "idempotency_key_in_progress"


_STATUS: list[tuple[type[DomainError], int]] = [
    (PayloadTooLarge, 413),
    (UnsupportedMediaType, 415),
    (Unauthorized, 401),
    (Forbidden, 403),
    (WebhookRefused, 401),
    (WebhookForbidden, 403),
    (MalformedWebhook, 400),
    (NotFound, 404),
    (Conflict, 409),
    (FraudRejected, 422),
    (IdempotencyKeyReused, 422),
    (InvalidRequest, 400),
]


def status_for(error: DomainError) -> int:
    return next((status for kind, status in _STATUS if isinstance(error, kind)), 400)


def error_body(code: str, message: str, **extra: Any) -> str:
    """The error answer, with the id of the request being answered (quoted to support, found in the logs)."""
    request_id = current_request_id()
    return json.dumps({"error": {"code": code, "message": message, **extra, "request_id": request_id}})


def refusal(error: DomainError, logger: Logger) -> tuple[int, str, dict[str, str] | None]:
    """A refused request's status, body and headers (a 401 names the scheme), logged."""
    status = status_for(error)
    logger.info("request refused", extra={"status": status, "error_code": error.code})
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    extra = {"reasons": error.reasons} if isinstance(error, FraudRejected) else {}
    return status, error_body(error.code, error.message, **extra), headers


def invalid_body(details: list[dict[str, str]], logger: Logger) -> str:
    """A 422's body: each refused field and why (never the value sent), logged."""
    logger.info("request invalid", extra={"status": 422, "fields": [d["field"] for d in details]})
    return error_body("validation_error", "the request is not valid", details=details)
