"""GET /r/{code}: count the click (one DynamoDB write), set the first-party cookie, redirect.

The redirect never depends on the count (docs/adr/0014-hot-links.md): a throttled or failed count is
logged and metered as `ClicksLost`, and the visitor still gets the landing page.

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

from referral_engine.adapters import aws
from referral_engine.adapters.dynamodb.clicks import ClickCounter, LandingTargets, LandingUnavailable, Visit
from referral_engine.adapters.fingerprint_secret import fingerprint_key
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


def _not_found(request_id: str) -> dict[str, Any]:
    return _error(404, "unknown_code", "no such referral link", request_id)


def _metrics(settings: Settings, at: datetime, *, lost: bool) -> None:
    """One CloudWatch EMF line, shaped as Powertools' Metrics prints it: `Clicks` (redirects served)
    and, when the count failed, `ClicksLost` (served but not counted)."""
    names = ["Clicks", "ClicksLost"] if lost else ["Clicks"]
    line = {
        "_aws": {
            "Timestamp": int(at.timestamp() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": settings.powertools_metrics_namespace,
                    "Dimensions": [["service"]],
                    "Metrics": [{"Name": name, "Unit": "Count"} for name in names],
                }
            ],
        },
        "service": settings.powertools_service_name,
        **dict.fromkeys(names, 1),
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
    code = normalise_code((event.get("pathParameters") or {}).get("code", ""))
    if code is None:
        return _not_found(request_id)
    settings, now = get_settings(), datetime.now(UTC)
    try:
        clicks = ClickCounter(
            aws.dynamodb_without_retries(), settings.table_name, landing_targets, _shard_draws
        )
        click = clicks.count(code, now.isoformat(), _visit(event, settings))
    except LandingUnavailable as unavailable:
        logger.error(
            "no redirect target: DynamoDB could not be read", extra={"code": code, "error": str(unavailable)}
        )
        return _error(503, "unavailable", "the referral link cannot be resolved right now", request_id)
    if click.landing_url is None:
        return _not_found(request_id)
    if click.lost:
        logger.warning("click not counted", extra={"code": code, "error": click.lost})
    _metrics(settings, now, lost=click.lost is not None)
    return {
        "statusCode": 302,
        "headers": {
            "Location": landing_with_ref(click.landing_url, code),
            "Cache-Control": "no-store",
            "Referrer-Policy": "strict-origin-when-cross-origin",
            "Request-Id": request_id,
        },
        "cookies": [f"ref={code}; Max-Age={COOKIE_MAX_AGE_SECONDS}; Path=/; Secure; HttpOnly; SameSite=Lax"],
        "body": "",
    }
