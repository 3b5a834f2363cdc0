"""`Idempotency-Key` on every POST, as payment APIs have it: a retry gets the first answer, not a new write.

- The first answer (status, headers, body; a 2xx or a 4xx) is kept 24 hours; a retry with the same key
  gets it again, with `Idempotent-Replayed: true`.
- The same key with another request (method, path or body) is a 422 `idempotency_key_reused`; while
  the first request still runs, a 409 `idempotency_key_in_progress`.
- Keys belong to the caller (the API key's hash, or the IAM principal), so two clients never collide.
- A 5xx or an unhandled exception keeps nothing: the retry runs again. Nor does a request refused
  before its route ran (a 4xx of the body's or parameters' validation, as Stripe has it): it
  changed nothing, and its retry is refused alike (docs/adr/0015).

Powertools' Idempotency utility keeps the records (docs/adr/0007-idempotency-keys-and-request-ids.md).
It is imported by the first request that carries the header: requests without one pay nothing for it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware

from referral_engine.services.api_keys import key_hash
from referral_engine.web.errors import (
    IdempotencyKeyInProgress,
    IdempotencyKeyReused,
    InvalidIdempotencyKey,
    MalformedJson,
    PayloadTooLarge,
)

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
    from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer
    from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
KEPT_FOR_SECONDS = 24 * 60 * 60
_RECORD_PREFIX = "IDEMPOTENCY"  # sort keys IDEMPOTENCY#{sha256}, in the partition keys.IDEMPOTENCY

Middleware = Callable[[APIGatewayHttpResolver, NextMiddleware], Response[Any]]


def honour_idempotency_keys(records: Callable[[], BasePersistenceLayer]) -> Middleware:
    """The middleware, over where the answers are kept. Register it after authentication: the
    caller owns the key, and a refused caller must not leave an answer behind."""

    def idempotency_key(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[Any]:
        event = app.current_event
        key = event.headers.get(IDEMPOTENCY_KEY_HEADER.lower())
        if key is None or event.http_method != "POST":
            return next_middleware(app)
        if not key.strip() or len(key) > MAX_KEY_LENGTH:
            raise InvalidIdempotencyKey(f"{IDEMPOTENCY_KEY_HEADER} must be 1 to {MAX_KEY_LENGTH} characters")
        return _once(app, next_middleware, records(), _fingerprint(event, key))

    return idempotency_key


def _fingerprint(event: APIGatewayProxyEventV2, key: str) -> dict[str, Any]:
    """What the utility hashes: the caller and key name the record; the request must match it."""
    return {
        "caller": _caller(event),
        "key": key,
        "request": {"method": event.http_method, "path": event.path, "body": event.decoded_body or ""},
    }


def _caller(event: APIGatewayProxyEventV2) -> str:
    """The IAM principal of a SigV4-signed call (the admin routes on AWS), else the API key's hash."""
    principal = event.request_context.authorizer.iam.user_arn
    if principal:
        return f"iam:{principal}"
    _, _, api_key = (event.headers.get("authorization") or "").partition(" ")
    return f"key:{key_hash(api_key.strip())}"


def _once(
    app: APIGatewayHttpResolver,
    next_middleware: NextMiddleware,
    records: BasePersistenceLayer,
    fingerprint: dict[str, Any],
) -> Response[Any]:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyValidationError,
    )

    config = IdempotencyConfig(
        event_key_jmespath="[caller, key]",
        payload_validation_jmespath="request",
        expires_after_seconds=KEPT_FOR_SECONDS,
        hash_function="sha256",
        lambda_context=app.lambda_context,  # a crashed first attempt stops blocking when its time is up
        response_hook=_mark_replayed,
    )
    answer = idempotent_function(
        data_keyword_argument="fingerprint",
        persistence_store=records,
        config=config,
        key_prefix=_RECORD_PREFIX,
    )(_first_answer)
    try:
        kept = answer(fingerprint=fingerprint, app=app, next_middleware=next_middleware)
    except _NotKept as error:
        return error.response
    except IdempotencyValidationError as error:
        raise IdempotencyKeyReused(
            f"this `{IDEMPOTENCY_KEY_HEADER}` was sent with another request: a new request needs a new key"
        ) from error
    except IdempotencyAlreadyInProgressError as error:
        raise IdempotencyKeyInProgress(
            f"the first request with this `{IDEMPOTENCY_KEY_HEADER}` is still running: retry shortly"
        ) from error
    headers = {**kept["headers"], **({REPLAYED_HEADER: "true"} if kept.get("replayed") else {})}
    return Response(status_code=kept["status"], body=kept["body"], headers=headers)


class _NotKept(Exception):
    """A 5xx or a refused request's answer, raised past the utility so that it deletes the record."""

    def __init__(self, response: Response[Any]) -> None:
        super().__init__(response.status_code)
        self.response = response


def _first_answer(
    *, fingerprint: dict[str, Any], app: APIGatewayHttpResolver, next_middleware: NextMiddleware
) -> dict[str, Any]:
    """The answer to keep. A refusal becomes its 4xx here (the resolver's own exception handlers) so
    that it is kept too, as a payment API keeps it; anything unhandled passes on and keeps nothing."""
    del fingerprint  # what the utility hashed, not what answers
    try:
        response = next_middleware(app)
    except Exception as error:
        handle = app.exception_handler_manager.lookup_exception_handler(type(error))
        if handle is None:
            raise
        response = handle(error)
        if isinstance(error, _invalid_requests()):
            raise _NotKept(response) from error
    if response.status_code >= 500:
        raise _NotKept(response)
    return {"status": response.status_code, "headers": response.headers, "body": response.body}


def _invalid_requests() -> tuple[type[Exception], ...]:
    """What the request's validation raises before the route runs (web/resolver.py answers them)."""
    import binascii

    from aws_lambda_powertools.event_handler.openapi.exceptions import (
        RequestUnsupportedContentType,
        RequestValidationError,
    )
    from pydantic import ValidationError

    return (
        RequestValidationError,
        RequestUnsupportedContentType,
        ValidationError,
        MalformedJson,
        PayloadTooLarge,
        UnicodeDecodeError,
        binascii.Error,
    )


def _mark_replayed(response: Any, idempotent_data: DataRecord) -> Any:
    """Powertools' response hook: called only when the answer comes from the records."""
    del idempotent_data
    return {**response, "replayed": True}
