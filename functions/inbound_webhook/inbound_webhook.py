"""Inbound webhooks: verify, normalise, store the signal idempotently, acknowledge fast.

All business logic runs later, behind the table's stream (functions/qualify).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Annotated, Any, get_args

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from referral_engine import wiring
from referral_engine.domain.errors import NotFound
from referral_engine.domain.models import Source
from referral_engine.domain.webhooks import InboundRequest
from referral_engine.observability import Count, count, count_refusals, logger, publish_metrics
from referral_engine.services.signals import GenericHookRequest
from referral_engine.settings import get_settings
from referral_engine.web.contract import answers
from referral_engine.web.requests import check_size, form_object, json_object, raw_body
from referral_engine.web.resolver import base_url, json_response, new_resolver, validate_request

WEBHOOK_MAX_BODY_BYTES = 256 * 1024
VENDOR_MAX_BODY_BYTES = 1024 * 1024  # Salesforce sends up to 100 records per notification
_HOOK_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")

app = new_resolver(logger, max_body_bytes=WEBHOOK_MAX_BODY_BYTES)
app.use(middlewares=[count_refusals, validate_request])

HookId = Annotated[str, Path(description="The hook's id, the last part of its hook URL.", max_length=64)]
GENERIC_BODY = {
    "requestBody": {
        "description": "The same fields as the query string, which they override; `referral_code` "
        "stands for `code`. Zapier and Make send JSON or a form.",
        "content": {
            media_type: {"schema": {"$ref": "#/components/schemas/GenericHookRequest"}}
            for media_type in ("application/json", "application/x-www-form-urlencoded")
        },
    }
}
VENDOR_BODY = {
    "requestBody": {
        "description": "The vendor's notification exactly as it sends it (JSON, a form or SOAP XML): "
        "its signature is computed over these bytes, so they are read verbatim.",
        "required": True,
        "content": {"*/*": {"schema": {"type": "string", "contentMediaType": "application/octet-stream"}}},
    }
}


def _body_fields() -> dict[str, Any]:
    """A JSON or form body's fields (by hand: a form's and a JSON body's fields mean the same)."""
    event = app.current_event
    body = event.decoded_body
    check_size(body, WEBHOOK_MAX_BODY_BYTES)
    content_type = (event.headers.get("content-type") or "").split(";")[0].strip().lower()
    from_body = (
        form_object(body) if content_type == "application/x-www-form-urlencoded" else json_object(body)
    )
    if "referral_code" in from_body and "code" not in from_body:
        from_body["code"] = from_body.pop("referral_code")
    return from_body


GENERIC_ANSWERS = answers({202: "Stored, or a duplicate of a stored signal."}, 400, 404, 413, 422)


@app.get(
    "/hooks/generic/<hook_id>",
    summary="Report a qualifying event (query string)",
    description="A campaign's generic hook, for automation tools: which referral (`code` or `email`), "
    "an `event_id` to deduplicate on, and the amount.",
    tags=["webhooks"],
    responses=GENERIC_ANSWERS,
)
@app.post(
    "/hooks/generic/<hook_id>",
    summary="Report a qualifying event (body)",
    description="As the GET, with the fields in a JSON or form body as well.",
    openapi_extensions=GENERIC_BODY,
    tags=["webhooks"],
    responses=GENERIC_ANSWERS,
)
def generic(hook_id: HookId, query: Annotated[GenericHookRequest, Query()]) -> Response[str]:
    if not _HOOK_ID.fullmatch(hook_id):
        raise NotFound("no such webhook")
    fields = {**query.model_dump(exclude_unset=True), **_body_fields()}
    request = GenericHookRequest.model_validate(fields)
    signal, accepted = wiring.signals().accept_generic(hook_id, request)
    logger.info("signal stored", extra={"signal_id": signal.key, "duplicate": not accepted})
    count(Count.SIGNALS_ACCEPTED, int(accepted), source="generic")
    return json_response(
        202, json.dumps({"accepted": True, "duplicate": not accepted, "signal_id": signal.key})
    )


VendorSource = Annotated[str, Path(description=f"The vendor: one of {', '.join(get_args(Source))}.")]


@app.head(
    "/hooks/<source>/<hook_id>",
    summary="Check a vendor hook URL",
    tags=["webhooks"],
    responses=answers({200: "The URL answers."}, 404, 422),
)
def vendor_url_check(source: VendorSource, hook_id: HookId) -> Response[str]:
    """Some vendors (Intercom) check that a URL answers before they save it."""
    if not _HOOK_ID.fullmatch(hook_id):
        raise NotFound("no such webhook")
    return Response(status_code=200, content_type="application/json", body="")


@app.post(
    "/hooks/<source>/<hook_id>",
    summary="Receive a vendor's webhook",
    description="A connection's hook URL: the vendor's signature (or the connection's secret) is "
    "verified, the notification normalised and stored; the reply is the one the vendor expects.",
    tags=["webhooks"],
    openapi_extensions=VENDOR_BODY,
    responses=answers({200: "Received (the vendor's expected reply)."}, 400, 401, 403, 404, 413, 422),
)
def vendor(source: VendorSource, hook_id: HookId) -> Response[str]:
    if not _HOOK_ID.fullmatch(hook_id):
        raise NotFound("no such webhook")
    event = app.current_event
    raw = raw_body(event.raw_event)
    check_size(raw, VENDOR_MAX_BODY_BYTES)
    context = event.request_context
    query = f"?{event.raw_query_string}" if event.raw_query_string else ""
    request = InboundRequest(
        method=event.http_method,
        url=f"{base_url(get_settings().public_base_url, context.domain_name, None)}{event.raw_path}{query}",
        headers={name.lower(): value for name, value in (event.headers or {}).items()},
        query=event.query_string_parameters or {},
        body=raw,
        received_at=datetime.now(UTC),
    )
    received = wiring.webhooks().receive(source, hook_id, request)
    logger.info(
        "vendor webhook stored",
        extra={
            "source": source,
            "signals": len(received.normalised.signals),
            "new": received.stored,
            "ignored": len(received.normalised.ignored),
        },
    )
    count(Count.SIGNALS_ACCEPTED, received.stored, source=source)
    reply = received.reply
    return Response(status_code=reply.status, content_type=reply.content_type, body=reply.body)


@publish_metrics
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
