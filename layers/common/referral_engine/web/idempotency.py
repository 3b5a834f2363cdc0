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
It needs neither pydantic nor the HTTP resolver (the kept answer is a dict), so a route table's
function (admin, web/routes.py) loads neither on this path either: `honour_idempotency_keys` is the
resolver's middleware, `keeps_answers` the route table's.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from referral_engine.services.api_keys import key_hash
from referral_engine.web.auth import iam_caller
from referral_engine.web.errors import IdempotencyKeyInProgress, IdempotencyKeyReused, InvalidIdempotencyKey

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
    from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
    from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer
    from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

    from referral_engine.web.routes import Answer, Request, Respond

    Middleware = Callable[[APIGatewayHttpResolver, NextMiddleware], Response[Any]]

IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
KEPT_FOR_SECONDS = 24 * 60 * 60
_RECORD_PREFIX = "IDEMPOTENCY"  # sort keys IDEMPOTENCY#{sha256}, in the partition keys.IDEMPOTENCY

Kept = dict[str, Any]  # an answer as kept: status, headers, body (and `replayed` when it is a replay)


def honour_idempotency_keys(records: Callable[[], BasePersistenceLayer]) -> Middleware:
    """The resolver's middleware, over where the answers are kept. Register it after authentication:
    the caller owns the key, and a refused caller must not leave an answer behind."""

    def idempotency_key(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[Any]:
        event = app.current_event
        key = _key(event.headers.get(IDEMPOTENCY_KEY_HEADER.lower()), event.http_method)
        if key is None:
            return next_middleware(app)
        request = {"method": event.http_method, "path": event.path, "body": event.decoded_body or ""}
        fingerprint = _fingerprint(event.raw_event, event.headers.get("authorization"), key, request)
        kept = _once(
            records(), fingerprint, app.lambda_context, lambda: _resolver_answer(app, next_middleware)
        )
        from aws_lambda_powertools.event_handler import Response  # here: admin loads no resolver

        return Response(status_code=kept["status"], body=kept["body"], headers=_headers(kept))

    return idempotency_key


def keeps_answers(records: Callable[[], BasePersistenceLayer]) -> Callable[..., Answer]:
    """`honour_idempotency_keys` for a route table (web/routes.py): the same records, the same answers."""

    def idempotency_key(request: Request, then: Respond) -> Answer:
        key = _key(request.header(IDEMPOTENCY_KEY_HEADER), request.method)
        if key is None:
            return then(request)
        sent = {"method": request.method, "path": request.path, "body": request.text()}
        fingerprint = _fingerprint(request.event, request.header("authorization"), key, sent)

        def first() -> Kept:
            answer = then(request)
            return {"status": answer["statusCode"], "headers": answer["headers"], "body": answer["body"]}

        kept = _once(records(), fingerprint, request.context, first)
        from referral_engine.web.routes import answer

        headers = _headers(kept)
        return answer(kept["status"], kept["body"], headers.pop("Content-Type", "application/json"), headers)

    return idempotency_key


def _key(header: str | None, method: str) -> str | None:
    """The request's key, None when it has none (or is no POST); InvalidIdempotencyKey for a bad one."""
    if header is None or method != "POST":
        return None
    if not header.strip() or len(header) > MAX_KEY_LENGTH:
        raise InvalidIdempotencyKey(f"{IDEMPOTENCY_KEY_HEADER} must be 1 to {MAX_KEY_LENGTH} characters")
    return header


def _fingerprint(
    event: dict[str, Any], authorization: str | None, key: str, request: dict[str, str]
) -> dict[str, Any]:
    """What the utility hashes: the caller and key name the record; the request (method, path, body)
    must match it."""
    return {"caller": _caller(event, authorization), "key": key, "request": request}


def _caller(event: dict[str, Any], authorization: str | None) -> str:
    """The IAM principal of a SigV4-signed call (the admin routes on AWS), else the API key's hash."""
    principal = iam_caller(event)
    if principal:
        return f"iam:{principal}"
    _, _, api_key = (authorization or "").partition(" ")
    return f"key:{key_hash(api_key.strip())}"


def _headers(kept: Kept) -> dict[str, str]:
    return {**kept["headers"], **({REPLAYED_HEADER: "true"} if kept.get("replayed") else {})}


def _once(
    records: BasePersistenceLayer, fingerprint: dict[str, Any], lambda_context: Any, first: Callable[[], Kept]
) -> Kept:
    """The first answer to this fingerprint: `first()`'s now, or the one kept."""
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
        lambda_context=lambda_context,  # a crashed first attempt stops blocking when its time is up
        response_hook=_mark_replayed,
    )
    answer = idempotent_function(
        data_keyword_argument="fingerprint",
        persistence_store=records,
        config=config,
        key_prefix=_RECORD_PREFIX,
    )(_first_answer)
    try:
        kept: Kept = answer(fingerprint=fingerprint, first=first)
    except _NotKept as error:
        return error.answer
    except IdempotencyValidationError as error:
        raise IdempotencyKeyReused(
            f"this `{IDEMPOTENCY_KEY_HEADER}` was sent with another request: a new request needs a new key"
        ) from error
    except IdempotencyAlreadyInProgressError as error:
        raise IdempotencyKeyInProgress(
            f"the first request with this `{IDEMPOTENCY_KEY_HEADER}` is still running: retry shortly"
        ) from error
    return kept


class _NotKept(Exception):
    """A 5xx or a refused request's answer, raised past the utility so that it deletes the record."""

    def __init__(self, answer: Kept) -> None:
        super().__init__(answer["status"])
        self.answer = answer


def _first_answer(*, fingerprint: dict[str, Any], first: Callable[[], Kept]) -> Kept:
    """The answer to keep, a 2xx or a 4xx, as a payment API keeps it; a 5xx or anything unhandled
    keeps nothing."""
    del fingerprint  # what the utility hashed, not what answers
    answer = first()
    if answer["status"] >= 500 or _refused_request(answer):
        raise _NotKept(answer)
    return answer


# The codes of the 4xx answers that refuse a request's shape before its route runs (web/errors.py,
# web/resolver.py, web/routes.py): a route's own refusals (`invalid_request`, `not_found`, ...) are kept.
_REQUEST_REFUSALS = frozenset(
    {"validation_error", "invalid_json", "invalid_body", "payload_too_large", "unsupported_media_type"}
)


def _refused_request(answer: Kept) -> bool:
    if not 400 <= answer["status"] < 500:
        return False
    try:
        error = json.loads(answer["body"] or "{}").get("error") or {}
    except (ValueError, AttributeError):
        return False
    return error.get("code") in _REQUEST_REFUSALS


def _resolver_answer(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Kept:
    """The resolver's answer; a refusal becomes its 4xx here (the resolver's own exception handlers)
    so that it is kept too."""
    try:
        response = next_middleware(app)
    except Exception as error:
        handle = app.exception_handler_manager.lookup_exception_handler(type(error))
        if handle is None:
            raise
        response = handle(error)
    return {"status": response.status_code, "headers": response.headers, "body": response.body}


def _mark_replayed(response: Any, idempotent_data: DataRecord) -> Any:
    """Powertools' response hook: called only when the answer comes from the records."""
    del idempotent_data
    return {**response, "replayed": True}
