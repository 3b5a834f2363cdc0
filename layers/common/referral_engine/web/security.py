"""Who may call the API, as the OpenAPI document says it: API keys, and SigV4 on the admin routes."""

from __future__ import annotations

from typing import Any

API_KEY_SCHEME = "apiKey"
# A route's `security`: `Authorization: Bearer <key>`.
API_KEY: list[dict[str, list[str]]] = [{API_KEY_SCHEME: []}]
SIGV4_SCHEME = "sigv4"
# The admin routes' `security`: SigV4 from an IAM identity on AWS, or an admin-scoped API key.
ADMIN: list[dict[str, list[str]]] = [{SIGV4_SCHEME: []}, {API_KEY_SCHEME: []}]
SECURITY_SCHEMES: dict[str, Any] = {
    API_KEY_SCHEME: {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key of the engine (`referrals api-keys create`): "
        "`Authorization: Bearer rk_...`. Its scope decides the routes: `server` the business routes, "
        "`admin` also /v1/admin.",
    },
    SIGV4_SCHEME: {
        "type": "apiKey",
        "name": "Authorization",
        "in": "header",
        "description": "AWS Signature Version 4 for `execute-api` from an IAM identity (the HTTP API's "
        "AWS_IAM authorizer): the admin routes on AWS.",
    },
}
