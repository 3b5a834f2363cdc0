"""The admin API (/v1/admin/...): the failure queues and the exceptions queue, the admin log, API keys.

On AWS the routes sit behind the HTTP API's AWS_IAM authorizer and the caller's IAM ARN is the actor in
the admin log and the audit trail; otherwise (the local stack) an admin-scoped API key is required.
"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from referral_engine import wiring
from referral_engine.ports import ApiKeyScope
from referral_engine.services.admin_messages import QueueName
from referral_engine.web.admin_views import api_key_view, depth_view, message_view, result_view
from referral_engine.web.auth import requires
from referral_engine.web.resolver import new_resolver

logger = Logger()
app = new_resolver(logger)
app.use(middlewares=[requires("admin", wiring.api_keys, iam=True)])

MAX_PAGE = 100
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE)]
Cursor = Annotated[str | None, Query(max_length=2048)]
QueuePath = Annotated[QueueName, Path()]
MessageId = Annotated[str, Path(min_length=1, max_length=128)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]


class RedriveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason | None = None


class DiscardRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason = Field(description="why the message is discarded (kept in the admin log)")


class NewKeyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    scope: ApiKeyScope = "server"


def _actor() -> str:
    return str(app.context["actor"])


def _page(items: list[dict[str, Any]], next_cursor: str | None) -> dict[str, Any]:
    return {"items": items, "next_cursor": next_cursor}


# ------------------------------------------------------------------------------------ queues
@app.get("/v1/admin/queues")
def list_queues() -> dict[str, Any]:
    depths = wiring.admin_queues().depths()
    return _page([depth_view(name, depth) for name, depth in depths.items()], None)


@app.get("/v1/admin/queues/<queue>/messages")
def list_messages(queue: QueuePath, limit: Limit = 50, cursor: Cursor = None) -> dict[str, Any]:
    """Every message stays in the queue."""
    page, next_cursor = wiring.admin_queues().page(queue, limit=limit, cursor=cursor)
    return _page([message_view(item) for item in page], next_cursor)


@app.get("/v1/admin/queues/<queue>/messages/<message_id>")
def show_message(queue: QueuePath, message_id: MessageId) -> dict[str, Any]:
    return message_view(wiring.admin_queues().show(queue, message_id))


@app.post("/v1/admin/queues/<queue>/messages/<message_id>/redrive")
def redrive_message(
    queue: QueuePath, message_id: MessageId, request: Annotated[RedriveRequest | None, Body()] = None
) -> dict[str, Any]:
    """`ok: false` with the reason when the redrive could not be done: the message stays in the queue."""
    reason = request.reason if request else None
    [result] = wiring.admin_queues().redrive(queue, message_id, operator=_actor(), reason=reason)
    logger.info("message redriven", extra={"queue": queue, "message_id": message_id, "ok": result.ok})
    return result_view(result)


@app.post("/v1/admin/queues/<queue>/redrive")
def redrive_queue(
    queue: QueuePath, request: Annotated[RedriveRequest | None, Body()] = None
) -> dict[str, Any]:
    reason = request.reason if request else None
    results = wiring.admin_queues().redrive(queue, None, operator=_actor(), reason=reason)
    logger.info("queue redriven", extra={"queue": queue, "failed": sum(not r.ok for r in results)})
    return {"results": [result_view(result) for result in results]}


@app.post("/v1/admin/queues/<queue>/messages/<message_id>/discard")
def discard_message(
    queue: QueuePath, message_id: MessageId, request: Annotated[DiscardRequest, Body()]
) -> dict[str, Any]:
    result = wiring.admin_queues().discard(queue, message_id, operator=_actor(), reason=request.reason)
    logger.info("message discarded", extra={"queue": queue, "message_id": message_id})
    return result_view(result)


# ------------------------------------------------------------------------------------ admin log
@app.get("/v1/admin/log")
def admin_log(limit: Limit = 50, cursor: Cursor = None) -> dict[str, Any]:
    page = wiring.admin_queues().admin_log(limit=limit, cursor=cursor)
    return _page(page.items, page.next_cursor)


# ------------------------------------------------------------------------------------ API keys
@app.post("/v1/admin/api-keys")
def create_api_key(request: Annotated[NewKeyRequest, Body()]) -> Response[dict[str, Any]]:
    issued = wiring.api_keys().create(request.name, scope=request.scope, operator=_actor())
    logger.info("api key created", extra={"key_id": issued.key.id, "scope": issued.key.scope, "by": _actor()})
    return Response(
        status_code=201, content_type="application/json", body=api_key_view(issued.key, issued.secret)
    )


@app.get("/v1/admin/api-keys")
def list_api_keys(limit: Limit = 50, cursor: Cursor = None) -> dict[str, Any]:
    page = wiring.api_keys().page(limit=limit, cursor=cursor)
    return _page([api_key_view(key) for key in page.items], page.next_cursor)


@app.delete("/v1/admin/api-keys/<key_id>")
def revoke_api_key(key_id: Annotated[str, Path(min_length=1, max_length=64)]) -> dict[str, Any]:
    key = wiring.api_keys().revoke(key_id, operator=_actor())
    logger.info("api key revoked", extra={"key_id": key.id, "by": _actor()})
    return api_key_view(key)


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
