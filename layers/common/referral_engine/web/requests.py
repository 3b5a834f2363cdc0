"""Reading requests: size limit, JSON objects, form encoding, the raw body, the API's own URL."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import parse_qsl

from referral_engine.domain.json_text import read_json
from referral_engine.web.errors import MalformedJson, PayloadTooLarge

API_MAX_BODY_BYTES = 16 * 1024


def check_size(body: bytes | str | None, limit: int) -> None:
    if body is not None and len(body) > limit:
        raise PayloadTooLarge(f"the body exceeds {limit} bytes")


def json_object(body: str | None, limit: int | None = None) -> dict[str, Any]:
    """The body as a JSON object, at most `limit` bytes long; an empty body is an empty object."""
    if limit is not None:
        check_size(body, limit)
    if not body or not body.strip():
        return {}
    try:
        parsed = read_json(body)
    except ValueError as error:
        raise MalformedJson("the body is not valid JSON") from error
    if not isinstance(parsed, dict):
        raise MalformedJson("the body must be a JSON object")
    return parsed


def form_object(body: str | None) -> dict[str, str]:
    return dict(parse_qsl(body or "", keep_blank_values=False))


def raw_body(event: dict[str, Any]) -> bytes:
    """The body exactly as the caller sent it: what vendors' signatures are computed over."""
    body = event.get("body") or ""
    return base64.b64decode(body) if event.get("isBase64Encoded") else body.encode()


def base_url(configured: str, domain_name: str, stage: str | None) -> str:
    """The public URL of this API: configured (custom domain, local stack) or the request's own host."""
    if configured:
        return configured.rstrip("/")
    suffix = f"/{stage}" if stage and stage != "$default" else ""
    return f"https://{domain_name}{suffix}"
