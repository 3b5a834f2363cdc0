"""Inbound webhooks: verify, normalise, store the signal idempotently, acknowledge fast.

All business logic runs later, behind the table's stream (functions/qualify).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from referral_engine import wiring
from referral_engine.domain.errors import NotFound
from referral_engine.domain.webhooks import InboundRequest
from referral_engine.observability import Count, count, count_refusals, logger, publish_metrics
from referral_engine.services.signals import GenericHookRequest
from referral_engine.settings import get_settings
from referral_engine.web.requests import check_size, form_object, json_object, raw_body
from referral_engine.web.resolver import base_url, json_response, new_resolver

WEBHOOK_MAX_BODY_BYTES = 256 * 1024
VENDOR_MAX_BODY_BYTES = 1024 * 1024  # Salesforce sends up to 100 records per notification
_HOOK_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")

app = new_resolver(logger)
app.use(middlewares=[count_refusals])


def _parameters() -> dict[str, Any]:
    """Query-string parameters, overridden by a JSON or form body's fields."""
    event = app.current_event
    body = event.decoded_body
    check_size(body, WEBHOOK_MAX_BODY_BYTES)
    content_type = (event.headers.get("content-type") or "").split(";")[0].strip().lower()
    from_body = (
        form_object(body) if content_type == "application/x-www-form-urlencoded" else json_object(body)
    )
    if "referral_code" in from_body and "code" not in from_body:
        from_body["code"] = from_body.pop("referral_code")
    return {**(event.query_string_parameters or {}), **from_body}


@app.route("/hooks/generic/<hook_id>", method=["GET", "POST"])
def generic(hook_id: str) -> Response[str]:
    if not _HOOK_ID.fullmatch(hook_id):
        raise NotFound("no such webhook")
    request = GenericHookRequest.model_validate(_parameters())
    signal, accepted = wiring.signals().accept_generic(hook_id, request)
    logger.info("signal stored", extra={"signal_id": signal.key, "duplicate": not accepted})
    count(Count.SIGNALS_ACCEPTED, int(accepted), source="generic")
    return json_response(
        202, json.dumps({"accepted": True, "duplicate": not accepted, "signal_id": signal.key})
    )


@app.route("/hooks/<source>/<hook_id>", method="HEAD")
def vendor_url_check(source: str, hook_id: str) -> Response[str]:
    """Some vendors (Intercom) check that a URL answers before they save it."""
    if not _HOOK_ID.fullmatch(hook_id):
        raise NotFound("no such webhook")
    return Response(status_code=200, content_type="application/json", body="")


@app.post("/hooks/<source>/<hook_id>")
def vendor(source: str, hook_id: str) -> Response[str]:
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
