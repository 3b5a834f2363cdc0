"""Inbound webhooks: verify, normalise, store the signal idempotently, acknowledge fast.

All business logic runs later, behind the table's stream (functions/qualify). Routed by hand
(web/routes.py): neither Powertools' resolver nor pydantic is loaded, for a short cold start.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any, get_args

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from referral_engine import wiring
from referral_engine.domain.errors import InvalidRequest, NotFound
from referral_engine.domain.models import Source
from referral_engine.domain.webhooks import InboundRequest
from referral_engine.observability import Count, count, count_refusals, logger, publish_metrics
from referral_engine.services.signals import GenericHookRequest
from referral_engine.settings import get_settings
from referral_engine.web.requests import base_url, check_size, form_object, json_object
from referral_engine.web.routes import Answer, InvalidFields, Request, Route, answer, dispatch, parse_fields

WEBHOOK_MAX_BODY_BYTES = 256 * 1024
VENDOR_MAX_BODY_BYTES = 1024 * 1024  # Salesforce sends up to 100 records per notification
_HOOK_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_HOOK_ID_MAX = 64

# What the OpenAPI document says of the path parameters (tools/openapi_document.py).
PATH_PARAMETERS: dict[str, dict[str, Any]] = {
    "hook_id": {"description": "The hook's id, the last part of its hook URL.", "maxLength": _HOOK_ID_MAX},
    "source": {"description": f"The vendor: one of {', '.join(get_args(Source))}."},
}
TAGS = ["webhooks"]


def _checked(hook_id: str) -> None:
    """A 422 for an id longer than the documented path parameter, before anything else is read."""
    if len(hook_id) > _HOOK_ID_MAX:
        raise InvalidFields(
            [{"field": "path.hook_id", "message": f"Expected `str` of length <= {_HOOK_ID_MAX}"}]
        )


def _known(hook_id: str) -> None:
    """A 404 for what cannot be a hook id, before any lookup."""
    if not _HOOK_ID.fullmatch(hook_id):
        raise NotFound("no such webhook")


def _body_fields(request: Request) -> dict[str, Any]:
    """A JSON or form body's fields (by hand: a form's and a JSON body's fields mean the same)."""
    body = request.text()
    check_size(body, WEBHOOK_MAX_BODY_BYTES)
    form = request.content_type == "application/x-www-form-urlencoded"
    from_body: dict[str, Any] = form_object(body) if form else json_object(body)
    if "referral_code" in from_body and "code" not in from_body:
        from_body["code"] = from_body.pop("referral_code")
    return from_body


@count_refusals
def generic(request: Request, hook_id: str) -> Answer:
    _checked(hook_id)
    parse_fields(GenericHookRequest, request.query, "query")  # a bad query value is `query.<field>`
    _known(hook_id)
    campaign, webhook_id = wiring.hook_signing().verified(hook_id, request.headers, request.body)
    if webhook_id is not None and request.query:
        raise InvalidRequest(
            "a signed hook reads its fields from the body only: the signature does not cover the query"
        )
    fields = parse_fields(GenericHookRequest, {**request.query, **_body_fields(request)})
    signal, accepted = wiring.signals().accept_generic_for(campaign, fields, webhook_id=webhook_id)
    logger.info("signal stored", extra={"signal_id": signal.key, "duplicate": not accepted})
    count(Count.SIGNALS_ACCEPTED, int(accepted), source="generic")
    return answer(202, json.dumps({"accepted": True, "duplicate": not accepted, "signal_id": signal.key}))


@count_refusals
def vendor_url_check(request: Request, source: str, hook_id: str) -> Answer:
    """Some vendors (Intercom) check that a URL answers before they save it."""
    _checked(hook_id)
    _known(hook_id)
    return answer(200, "")


@count_refusals
def vendor(request: Request, source: str, hook_id: str) -> Answer:
    _checked(hook_id)
    _known(hook_id)
    raw = request.body
    check_size(raw, VENDOR_MAX_BODY_BYTES)
    event = request.event
    raw_query = event.get("rawQueryString") or ""
    query = f"?{raw_query}" if raw_query else ""
    domain_name = event["requestContext"].get("domainName", "")
    inbound = InboundRequest(
        method=request.method,
        url=f"{base_url(get_settings().public_base_url, domain_name, None)}{event.get('rawPath', '')}{query}",
        headers={name.lower(): value for name, value in request.headers.items()},
        query=request.query,
        body=raw,
        received_at=datetime.now(UTC),
    )
    received = wiring.webhooks().receive(source, hook_id, inbound)
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
    return answer(reply.status, reply.body, reply.content_type)


_GENERIC_ANSWERS = {202: "Stored, or a duplicate of a stored signal."}
_GENERIC_ERRORS = (400, 401, 404, 413, 422)

ROUTES = [
    Route(
        "GET",
        "/hooks/generic/{hook_id}",
        generic,
        summary="Report a qualifying event (query string)",
        description="A campaign's generic hook, for servers and automation tools (its URL is a secret: never "
        "put it in a web page): which referral (`code` or `email`), an `event_id` to deduplicate on, and the "
        "amount; `event=reverse` (with a `reason`) reports a refund or cancellation instead. Once the "
        "campaign has a hook secret, every call must be signed (Standard Webhooks: `webhook-id`, "
        "`webhook-timestamp`, `webhook-signature`), else 401.",
        answers=_GENERIC_ANSWERS,
        errors=_GENERIC_ERRORS,
        query=GenericHookRequest,
    ),
    Route(
        "POST",
        "/hooks/generic/{hook_id}",
        generic,
        summary="Report a qualifying event (body)",
        description="As the GET, with the fields in a JSON or form body as well.",
        answers=_GENERIC_ANSWERS,
        errors=_GENERIC_ERRORS,
        query=GenericHookRequest,
        request_body={
            "description": "The same fields as the query string, which they override; `referral_code` "
            "stands for `code`. Zapier and Make send JSON or a form.",
            "content": {
                media_type: {"schema": {"$ref": "#/components/schemas/GenericHookRequest"}}
                for media_type in ("application/json", "application/x-www-form-urlencoded")
            },
        },
    ),
    Route(
        "POST",
        "/hooks/{source}/{hook_id}",
        vendor,
        summary="Receive a vendor's webhook",
        description="A connection's hook URL: the vendor's signature (or the connection's secret) is "
        "verified, the notification normalised and stored; the reply is the one the vendor expects.",
        answers={200: "Received (the vendor's expected reply)."},
        errors=(400, 401, 403, 404, 413, 422),
        request_body={
            "description": "The vendor's notification exactly as it sends it (JSON, a form or SOAP XML): "
            "its signature is computed over these bytes, so they are read verbatim.",
            "content": {
                "*/*": {"schema": {"type": "string", "contentMediaType": "application/octet-stream"}}
            },
            "required": True,
        },
    ),
    Route(
        "HEAD",
        "/hooks/{source}/{hook_id}",
        vendor_url_check,
        summary="Check a vendor hook URL",
        answers={200: "The URL answers."},
        errors=(404, 422),
    ),
]


@publish_metrics
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dispatch(ROUTES, event, logger)
