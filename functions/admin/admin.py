"""The admin API (/v1/admin/...): the failure queues and the exceptions queue, the admin log, API keys.

On AWS the routes sit behind the HTTP API's AWS_IAM authorizer and the caller's IAM ARN is the actor in
the admin log and the audit trail; otherwise (the local stack) an admin-scoped API key is required.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from referral_engine import wiring
from referral_engine.observability import logger
from referral_engine.ports import ApiKeyScope
from referral_engine.services.admin_messages import QueueName
from referral_engine.web.admin_views import api_key_view, depth_view, message_view, result_view
from referral_engine.web.auth import requires
from referral_engine.web.contract import ADMIN, answers
from referral_engine.web.idempotency import honour_idempotency_keys
from referral_engine.web.pages import Page, PageQuery, page_of, page_view
from referral_engine.web.resolver import json_response, new_resolver, validate_request

app = new_resolver(logger)
app.use(
    middlewares=[
        requires("admin", wiring.api_keys, iam=True),
        honour_idempotency_keys(wiring.idempotency_records),
        validate_request,
    ]
)

# Every route's errors beyond its own: no key or IAM identity, a server key, a refused parameter.
GUARDED = (401, 403, 422)
WITH_BODY = (*GUARDED, 400, 413, 415)

QueuePath = Annotated[QueueName, Path(description="The queue: a failure queue or `exceptions`.")]
MessageId = Annotated[str, Path(description="The message's SQS MessageId.", min_length=1, max_length=128)]
KeyId = Annotated[str, Path(description="The key's id (`key_...`).", min_length=1, max_length=64)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]


class RedriveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason | None = Field(default=None, description="Why (kept in the admin log).")


class DiscardRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason = Field(description="Why the message is discarded (kept in the admin log).")


class NewKeyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    scope: ApiKeyScope = Field(
        default="server", description="server, admin (also the server routes) or publishable."
    )


def _actor() -> str:
    return str(app.context["actor"])


def _json(status: int, payload: dict[str, Any]) -> Response[str]:
    return json_response(status, json.dumps(payload))


# ------------------------------------------------------------------------------------ queues
@app.get(
    "/v1/admin/queues",
    summary="List the queues with their depths",
    tags=["admin"],
    security=ADMIN,
    responses=answers({200: "Every queue: `name`, `visible`, `in_flight`."}, *GUARDED, body=Page),
)
def list_queues() -> Response[str]:
    depths = wiring.admin_queues().depths()
    return _json(200, page_view([depth_view(name, depth) for name, depth in depths.items()], None))


@app.get(
    "/v1/admin/queues/<queue>/messages",
    summary="List a queue's messages",
    description="With why each is there and what it is about; listing consumes nothing.",
    tags=["admin"],
    security=ADMIN,
    responses=answers({200: "A page of messages, oldest first."}, *GUARDED, 400, body=Page),
)
def list_messages(queue: QueuePath, query: Annotated[PageQuery, Query()]) -> Response[str]:
    listed = wiring.admin_queues().inspect((queue,))
    page, next_cursor = page_of(listed, query, key=lambda item: item.message.message_id)
    return _json(200, page_view([message_view(item) for item in page], next_cursor))


@app.get(
    "/v1/admin/queues/<queue>/messages/<message_id>",
    summary="Show a message",
    tags=["admin"],
    security=ADMIN,
    responses=answers({200: "The message."}, *GUARDED, 404),
)
def show_message(queue: QueuePath, message_id: MessageId) -> Response[str]:
    return _json(200, message_view(wiring.admin_queues().show(queue, message_id)))


@app.post(
    "/v1/admin/queues/<queue>/messages/<message_id>/redrive",
    summary="Redrive a message",
    description="Processes it again (what that means depends on the queue); deleted once that succeeded. "
    "`ok: false` with why when it could not be done: the message stays in the queue.",
    tags=["admin"],
    security=ADMIN,
    responses=answers({200: "The result."}, *WITH_BODY, 404),
)
def redrive_message(
    queue: QueuePath, message_id: MessageId, request: Annotated[RedriveRequest | None, Body()] = None
) -> Response[str]:
    reason = request.reason if request else None
    [result] = wiring.admin_queues().redrive(queue, message_id, operator=_actor(), reason=reason)
    logger.info("message redriven", extra={"queue": queue, "message_id": message_id, "ok": result.ok})
    return _json(200, result_view(result))


@app.post(
    "/v1/admin/queues/<queue>/redrive",
    summary="Redrive every message of a queue",
    tags=["admin"],
    security=ADMIN,
    responses=answers({200: "`results`: one per message."}, *WITH_BODY),
)
def redrive_queue(
    queue: QueuePath, request: Annotated[RedriveRequest | None, Body()] = None
) -> Response[str]:
    reason = request.reason if request else None
    results = wiring.admin_queues().redrive(queue, None, operator=_actor(), reason=reason)
    logger.info("queue redriven", extra={"queue": queue, "failed": sum(not r.ok for r in results)})
    return _json(200, {"results": [result_view(result) for result in results]})


@app.post(
    "/v1/admin/queues/<queue>/messages/<message_id>/discard",
    summary="Discard a message",
    description="Removes it for good, recording who and why in the admin log.",
    tags=["admin"],
    security=ADMIN,
    responses=answers({200: "The result."}, *WITH_BODY, 404),
)
def discard_message(
    queue: QueuePath, message_id: MessageId, request: Annotated[DiscardRequest, Body()]
) -> Response[str]:
    result = wiring.admin_queues().discard(queue, message_id, operator=_actor(), reason=request.reason)
    logger.info("message discarded", extra={"queue": queue, "message_id": message_id})
    return _json(200, result_view(result))


# ------------------------------------------------------------------------------------ admin log
@app.get(
    "/v1/admin/log",
    summary="The admin log",
    description="Every redrive, discard and API key decision: who, when, why; newest first.",
    tags=["admin"],
    security=ADMIN,
    responses=answers({200: "A page of the admin log."}, *GUARDED, 400, body=Page),
)
def admin_log(query: Annotated[PageQuery, Query()]) -> Response[str]:
    page = wiring.admin_queues().admin_log(limit=query.limit, cursor=query.cursor)
    return _json(200, page_view(page.items, page.next_cursor))


# ------------------------------------------------------------------------------------ API keys
@app.post(
    "/v1/admin/api-keys",
    summary="Create an API key",
    description="The key is in this answer only; only its SHA-256 hash is stored.",
    tags=["admin"],
    security=ADMIN,
    responses=answers({201: "The key, with `api_key` this once."}, *WITH_BODY),
)
def create_api_key(request: Annotated[NewKeyRequest, Body()]) -> Response[str]:
    issued = wiring.api_keys().create(request.name, scope=request.scope, operator=_actor())
    logger.info("api key created", extra={"key_id": issued.key.id, "scope": issued.key.scope})
    return _json(201, api_key_view(issued.key, issued.secret))


@app.get(
    "/v1/admin/api-keys",
    summary="List the API keys",
    description="Id, name, scope, created and revoked times; never a key or its hash.",
    tags=["admin"],
    security=ADMIN,
    responses=answers({200: "A page of keys, newest first."}, *GUARDED, 400, body=Page),
)
def list_api_keys(query: Annotated[PageQuery, Query()]) -> Response[str]:
    page = wiring.api_keys().page(limit=query.limit, cursor=query.cursor)
    return _json(200, page_view([api_key_view(key) for key in page.items], page.next_cursor))


@app.delete(
    "/v1/admin/api-keys/<key_id>",
    summary="Revoke an API key",
    description="Refused everywhere within seconds.",
    tags=["admin"],
    security=ADMIN,
    responses=answers({200: "The revoked key."}, *GUARDED, 404),
)
def revoke_api_key(key_id: KeyId) -> Response[str]:
    key = wiring.api_keys().revoke(key_id, operator=_actor())
    logger.info("api key revoked", extra={"key_id": key.id})
    return _json(200, api_key_view(key))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
