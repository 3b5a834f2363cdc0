"""The admin API (/v1/admin/...): the failure queues and the exceptions queue, the admin log, API keys.

On AWS the routes sit behind the HTTP API's AWS_IAM authorizer and the caller's IAM ARN is the actor in
the admin log and the audit trail; otherwise (the local stack) an admin-scoped API key is required.
Routed by hand (web/routes.py): neither Powertools' resolver nor pydantic is loaded, for a short cold
start (docs/adr/0011); the route table is also what the OpenAPI document says of these routes.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from admin_reviews import REVIEW_ROUTES
from referral_engine import wiring
from referral_engine.observability import logger
from referral_engine.services.admin_messages import QueueName
from referral_engine.services.api_keys import NewKeyRequest
from referral_engine.web.admin_requests import DiscardRequest, KeyPath, MessagePath, QueuePath, RedriveRequest
from referral_engine.web.admin_views import api_key_view, depth_view, message_view, result_view
from referral_engine.web.auth import admits
from referral_engine.web.idempotency import keeps_answers
from referral_engine.web.paging import Paging, page_of, page_view
from referral_engine.web.routes import Answer, Request, Route, answer, dispatch, parse_fields
from referral_engine.web.security import ADMIN

MIDDLEWARES = (admits("admin", wiring.api_keys, iam=True), keeps_answers(wiring.idempotency_records))
TAGS = ["admin"]

# Every route's errors beyond its own: no key or IAM identity, a server key, a refused parameter.
GUARDED = (401, 403, 422)
WITH_BODY = (*GUARDED, 400, 413, 415)


def _json(status: int, payload: dict[str, Any]) -> Answer:
    return answer(status, json.dumps(payload))


def _actor(request: Request) -> str:
    return str(request.actor)


def _redrive_reason(request: Request) -> str | None:
    body = request.json_body(RedriveRequest)
    return body.reason if body else None


def _paging(request: Request) -> Paging:
    return parse_fields(Paging, request.query, "query")


# ------------------------------------------------------------------------------------ queues
def list_queues(request: Request) -> Answer:
    depths = wiring.admin_queues().depths()
    return _json(200, page_view([depth_view(name, depth) for name, depth in depths.items()], None))


def list_messages(request: Request, queue: QueueName) -> Answer:
    query = _paging(request)
    listed = wiring.admin_queues().inspect((queue,))
    page, next_cursor = page_of(listed, query, key=lambda item: item.message.message_id)
    return _json(200, page_view([message_view(item) for item in page], next_cursor))


def show_message(request: Request, queue: QueueName, message_id: str) -> Answer:
    return _json(200, message_view(wiring.admin_queues().show(queue, message_id)))


def redrive_message(request: Request, queue: QueueName, message_id: str) -> Answer:
    reason = _redrive_reason(request)
    [result] = wiring.admin_queues().redrive(queue, message_id, operator=_actor(request), reason=reason)
    logger.info("message redriven", extra={"queue": queue, "message_id": message_id, "ok": result.ok})
    return _json(200, result_view(result))


def redrive_queue(request: Request, queue: QueueName) -> Answer:
    reason = _redrive_reason(request)
    results = wiring.admin_queues().redrive(queue, None, operator=_actor(request), reason=reason)
    logger.info("queue redriven", extra={"queue": queue, "failed": sum(not r.ok for r in results)})
    return _json(200, {"results": [result_view(result) for result in results]})


def discard_message(request: Request, queue: QueueName, message_id: str) -> Answer:
    body = request.required_json_body(DiscardRequest)
    result = wiring.admin_queues().discard(queue, message_id, operator=_actor(request), reason=body.reason)
    logger.info("message discarded", extra={"queue": queue, "message_id": message_id})
    return _json(200, result_view(result))


# ------------------------------------------------------------------------------------ admin log
def admin_log(request: Request) -> Answer:
    query = _paging(request)
    page = wiring.admin_queues().admin_log(limit=query.limit, cursor=query.cursor)
    return _json(200, page_view(page.items, page.next_cursor))


# ------------------------------------------------------------------------------------ API keys
def create_api_key(request: Request) -> Answer:
    body = request.required_json_body(NewKeyRequest)
    issued = wiring.api_keys().create(body.name, scope=body.scope, operator=_actor(request))
    logger.info("api key created", extra={"key_id": issued.key.id, "scope": issued.key.scope})
    return _json(201, api_key_view(issued.key, issued.secret))


def list_api_keys(request: Request) -> Answer:
    query = _paging(request)
    page = wiring.api_keys().page(limit=query.limit, cursor=query.cursor)
    return _json(200, page_view([api_key_view(key) for key in page.items], page.next_cursor))


def revoke_api_key(request: Request, key_id: str) -> Answer:
    key = wiring.api_keys().revoke(key_id, operator=_actor(request))
    logger.info("api key revoked", extra={"key_id": key.id})
    return _json(200, api_key_view(key))


_MESSAGE = "/v1/admin/queues/{queue}/messages/{message_id}"


def admin_route(*args: Any, **options: Any) -> Route:
    """A route of this function: every one is the admin's (`AWS_IAM` on AWS, an admin key locally)."""
    return Route(*args, **{**options, "security": ADMIN})


ROUTES = [
    admin_route(
        "GET",
        "/v1/admin/queues",
        list_queues,
        summary="List the queues with their depths",
        answers={200: "Every queue: `name`, `visible`, `in_flight`."},
        errors=GUARDED,
        answer_schema="Page",
    ),
    admin_route(
        "GET",
        "/v1/admin/queues/{queue}/messages",
        list_messages,
        summary="List a queue's messages",
        description="With why each is there and what it is about; listing consumes nothing.",
        answers={200: "A page of messages, oldest first."},
        errors=(*GUARDED, 400),
        query=Paging,
        path_parameters=QueuePath,
        answer_schema="Page",
    ),
    admin_route(
        "GET",
        _MESSAGE,
        show_message,
        summary="Show a message",
        answers={200: "The message."},
        errors=(*GUARDED, 404),
        path_parameters=MessagePath,
    ),
    admin_route(
        "POST",
        f"{_MESSAGE}/redrive",
        redrive_message,
        summary="Redrive a message",
        description="Processes it again (what that means depends on the queue); deleted once that "
        "succeeded. `ok: false` with why when it could not be done: the message stays in the queue.",
        answers={200: "The result."},
        errors=(*WITH_BODY, 404),
        path_parameters=MessagePath,
        body=RedriveRequest,
    ),
    admin_route(
        "POST",
        "/v1/admin/queues/{queue}/redrive",
        redrive_queue,
        summary="Redrive every message of a queue",
        answers={200: "`results`: one per message."},
        errors=WITH_BODY,
        path_parameters=QueuePath,
        body=RedriveRequest,
    ),
    admin_route(
        "POST",
        f"{_MESSAGE}/discard",
        discard_message,
        summary="Discard a message",
        description="Removes it for good, recording who and why in the admin log.",
        answers={200: "The result."},
        errors=(*WITH_BODY, 404),
        path_parameters=MessagePath,
        body=DiscardRequest,
        body_required=True,
    ),
    admin_route(
        "GET",
        "/v1/admin/log",
        admin_log,
        summary="The admin log",
        description="Every redrive, discard and API key decision: who, when, why; newest first.",
        answers={200: "A page of the admin log."},
        errors=(*GUARDED, 400),
        query=Paging,
        answer_schema="Page",
    ),
    admin_route(
        "POST",
        "/v1/admin/api-keys",
        create_api_key,
        summary="Create an API key",
        description="The key is in this answer only; only its SHA-256 hash is stored.",
        answers={201: "The key, with `api_key` this once."},
        errors=WITH_BODY,
        body=NewKeyRequest,
        body_required=True,
    ),
    admin_route(
        "GET",
        "/v1/admin/api-keys",
        list_api_keys,
        summary="List the API keys",
        description="Id, name, scope, created and revoked times; never a key or its hash.",
        answers={200: "A page of keys, newest first."},
        errors=(*GUARDED, 400),
        query=Paging,
        answer_schema="Page",
    ),
    admin_route(
        "DELETE",
        "/v1/admin/api-keys/{key_id}",
        revoke_api_key,
        summary="Revoke an API key",
        description="Refused everywhere within seconds.",
        answers={200: "The revoked key."},
        errors=(*GUARDED, 404),
        path_parameters=KeyPath,
    ),
    *REVIEW_ROUTES,
]


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dispatch(ROUTES, event, logger, MIDDLEWARES, context)
