"""GET /r: the campaign-less page an unknown or malformed referral link lands on (docs/adr/0023).

Static and self-contained (no script, no style, no third-party request), under a CSP that allows none.
"""

from __future__ import annotations

from typing import Any

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>This referral link is not valid</title>
</head>
<body>
<main>
<h1>This referral link is not valid</h1>
<p>The link may have been mistyped, or the referral programme it belonged to has ended.
Ask the person who shared it for a new link.</p>
</main>
</body>
</html>
"""


def fallback_page(request_id: str) -> dict[str, Any]:
    return {
        "statusCode": 200,
        "headers": {
            "Content-Type": "text/html; charset=utf-8",
            "Content-Security-Policy": "default-src 'none'; base-uri 'none'; form-action 'none'; "
            "frame-ancestors 'none'",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "public, max-age=3600",
            "Request-Id": request_id,
        },
        "body": PAGE,
    }
