"""GET /r/{code}: count the click (one DynamoDB write), set the first-party cookie, redirect.

The redirect never depends on the count (docs/adr/0014-hot-links.md): a throttled or failed count is
logged and metered as `ClicksLost`, and the visitor still gets the landing page. A HEAD or a known bot
is redirected but not counted (`ClicksNotCounted`), a repeat within the window is counted apart
(`repeat_clicks`), and an unknown code redirects to the fallback page (docs/adr/0023); GET /r serves
that page.

Kept deliberately light (no Powertools, no pydantic) because it is the hot, latency-visible path;
Lambda's JSON log format structures the standard library's log records.
"""

from __future__ import annotations

import json
import logging
import random
import sys
from datetime import UTC, datetime
from typing import Any

from fallback_page import fallback_page
from referral_engine.adapters import aws
from referral_engine.adapters.dynamodb.clicks import (
    Click,
    ClickCounter,
    LandingTargets,
    LandingUnavailable,
    Visit,
)
from referral_engine.adapters.fingerprint_secret import fingerprint_key
from referral_engine.domain.click_hygiene import ClickKind, classify, repeat_cookie
from referral_engine.domain.fingerprints import ip_fingerprint, user_agent_fingerprint
from referral_engine.domain.identifiers import normalise_code
from referral_engine.domain.links import landing_with_ref
from referral_engine.settings import Settings, get_settings

COOKIE_MAX_AGE_SECONDS = 30 * 24 * 3600
logger = logging.getLogger(__name__)
# code → landing URL for this container's life (bounded): a warm container redirects without a read.
landing_targets = LandingTargets()
_shard_draws = random.Random()  # noqa: S311 - spreads the writes, guards nothing


def _error(status: int, code: str, message: str, request_id: str) -> dict[str, Any]:
    error = {"code": code, "message": message, "request_id": request_id}
    headers = {"Content-Type": "application/json", "Cache-Control": "no-store", "Request-Id": request_id}
    if status == 503:
        headers["Retry-After"] = "1"
    return {"statusCode": status, "headers": headers, "body": json.dumps({"error": error})}


def _to_fallback(settings: Settings, request_id: str) -> dict[str, Any]:
    """An unknown or malformed code: to the configured page (never a URL from the request)."""
    headers = {"Location": settings.click_fallback_url or "/r", "Cache-Control": "no-store"}
    return {"statusCode": 302, "headers": {**headers, "Request-Id": request_id}, "body": ""}


def _metrics(settings: Settings, at: datetime, kind: ClickKind, *, lost: bool) -> None:
    """One CloudWatch EMF line, shaped as Powertools' Metrics prints it: `Clicks` (redirects served),
    `RepeatClicks` (counted apart), `ClicksLost` (served, the count failed) and `ClicksNotCounted` by
    `reason` (a HEAD or a bot)."""
    names = ["Clicks", *(["RepeatClicks"] if kind.repeat else []), *(["ClicksLost"] if lost else [])]
    directives: list[dict[str, Any]] = [{"Dimensions": [["service"]], "Metrics": names}]
    reason = {}
    if kind.not_counted is not None:
        directives.append({"Dimensions": [["service", "reason"]], "Metrics": ["ClicksNotCounted"]})
        reason = {"reason": kind.not_counted.value, "ClicksNotCounted": 1}
    line = {
        "_aws": {
            "Timestamp": int(at.timestamp() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": settings.powertools_metrics_namespace,
                    "Dimensions": directive["Dimensions"],
                    "Metrics": [{"Name": name, "Unit": "Count"} for name in directive["Metrics"]],
                }
                for directive in directives
            ],
        },
        "service": settings.powertools_service_name,
        **dict.fromkeys(names, 1),
        **reason,
    }
    sys.stdout.write(json.dumps(line, separators=(",", ":")) + "\n")


def _visit(event: dict[str, Any], settings: Settings) -> Visit | None:
    """The visitor's keyed fingerprints (docs/adr/0018), never the address itself. A key that cannot
    be read costs the evidence, never the redirect."""
    if not settings.fingerprint_secret_id:
        return None
    key = fingerprint_key(aws.without_retries("secretsmanager"), settings.fingerprint_secret_id)
    if key is None:
        return None
    http = (event.get("requestContext") or {}).get("http") or {}
    ip, user_agent = http.get("sourceIp"), http.get("userAgent")
    visit = Visit(
        ip=ip_fingerprint(key, ip) if ip else None,
        user_agent=user_agent_fingerprint(key, user_agent) if user_agent else None,
    )
    return visit if visit.ip or visit.user_agent else None


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    # The API's Request-Id convention (referral_engine.web.request_ids), without importing Powertools.
    request_id = str((event.get("requestContext") or {}).get("requestId", ""))
    path_parameters = event.get("pathParameters") or {}
    if "code" not in path_parameters:
        return fallback_page(request_id)  # GET /r
    settings, now = get_settings(), datetime.now(UTC)
    code = normalise_code(path_parameters["code"])
    if code is None:
        return _to_fallback(settings, request_id)
    http = (event.get("requestContext") or {}).get("http") or {}
    kind = classify(http.get("method", "GET"), http.get("userAgent", ""), event.get("cookies") or [], code)
    try:
        clicks = ClickCounter(
            aws.dynamodb_without_retries(), settings.table_name, landing_targets, _shard_draws
        )
        if kind.not_counted is None:
            click = clicks.count(code, now.isoformat(), _visit(event, settings), repeat=kind.repeat)
        else:
            click = Click(clicks.landing(code))
    except LandingUnavailable as unavailable:
        logger.error(
            "no redirect target: DynamoDB could not be read", extra={"code": code, "error": str(unavailable)}
        )
        return _error(503, "unavailable", "the referral link cannot be resolved right now", request_id)
    if click.landing_url is None:
        return _to_fallback(settings, request_id)
    if click.lost:
        logger.warning("click not counted", extra={"code": code, "error": click.lost})
    _metrics(settings, now, kind, lost=click.lost is not None)
    cookies = [f"ref={code}; Max-Age={COOKIE_MAX_AGE_SECONDS}; Path=/; Secure; HttpOnly; SameSite=Lax"]
    if kind.opens_window and not click.lost:
        https = (event.get("headers") or {}).get("x-forwarded-proto") == "https"
        cookies.append(repeat_cookie(code, secure=https))
    return {
        "statusCode": 302,
        "headers": {
            "Location": landing_with_ref(click.landing_url, code),
            "Cache-Control": "no-store",
            "Referrer-Policy": "strict-origin-when-cross-origin",
            "Request-Id": request_id,
        },
        "cookies": cookies,
        "body": "",
    }
