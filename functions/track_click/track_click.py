"""GET /r/{code}: count the click (one DynamoDB call), set the first-party cookie, redirect.

Kept deliberately light (no Powertools, no pydantic) because it is the hot, latency-visible path;
Lambda's JSON log format structures the standard library's log records.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from referral_engine.adapters import aws
from referral_engine.adapters.dynamodb.clicks import count_click
from referral_engine.domain.identifiers import normalise_code
from referral_engine.domain.links import landing_with_ref
from referral_engine.settings import Settings, get_settings

COOKIE_MAX_AGE_SECONDS = 30 * 24 * 3600
logger = logging.getLogger(__name__)


def _not_found(request_id: str) -> dict[str, Any]:
    error = {"code": "unknown_code", "message": "no such referral link", "request_id": request_id}
    headers = {"Content-Type": "application/json", "Cache-Control": "no-store", "Request-Id": request_id}
    return {
        "statusCode": 404,
        "headers": headers,
        "body": json.dumps({"error": error}),
    }


def _count_click(settings: Settings, at: datetime) -> None:
    """One CloudWatch EMF line for the `Clicks` count, shaped as Powertools' Metrics prints it."""
    line = {
        "_aws": {
            "Timestamp": int(at.timestamp() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": settings.powertools_metrics_namespace,
                    "Dimensions": [["service"]],
                    "Metrics": [{"Name": "Clicks", "Unit": "Count"}],
                }
            ],
        },
        "service": settings.powertools_service_name,
        "Clicks": 1,
    }
    sys.stdout.write(json.dumps(line, separators=(",", ":")) + "\n")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    # The API's Request-Id convention (referral_engine.web.request_ids), without importing Powertools.
    request_id = str((event.get("requestContext") or {}).get("requestId", ""))
    code = normalise_code((event.get("pathParameters") or {}).get("code", ""))
    if code is None:
        return _not_found(request_id)
    settings, now = get_settings(), datetime.now(UTC)
    landing_url = count_click(aws.dynamodb(), settings.table_name, code, now.isoformat())
    if landing_url is None:
        return _not_found(request_id)
    _count_click(settings, now)
    return {
        "statusCode": 302,
        "headers": {
            "Location": landing_with_ref(landing_url, code),
            "Cache-Control": "no-store",
            "Referrer-Policy": "strict-origin-when-cross-origin",
            "Request-Id": request_id,
        },
        "cookies": [f"ref={code}; Max-Age={COOKIE_MAX_AGE_SECONDS}; Path=/; Secure; HttpOnly; SameSite=Lax"],
        "body": "",
    }
