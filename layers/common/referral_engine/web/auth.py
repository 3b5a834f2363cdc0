"""Who may call a route: the one place API key scopes (and, on the admin routes, IAM) are checked.

`requires(scope)` is a resolver middleware: no valid key is 401, a key whose scope does not grant the
route is 403 (a server key on an admin route). With `iam=True` an API Gateway `AWS_IAM` authorizer's
caller (`requestContext.authorizer.iam`) is admitted without a key: on AWS the gateway has verified its
SigV4 signature; the local stack's gateway never sets that context, so locally an admin key is needed.
The caller is kept in the resolver's context as `actor` (the IAM ARN, or `api_key:<key id>`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware

from referral_engine.ports import ApiKeyScope
from referral_engine.services.api_keys import ApiKeyService, grants
from referral_engine.web.errors import Forbidden, Unauthorized

Middleware = Callable[[APIGatewayHttpResolver, NextMiddleware], Response[Any]]


def iam_caller(event: dict[str, Any]) -> str | None:
    """The caller's ARN when an AWS_IAM authorizer admitted the request."""
    authorizer = event.get("requestContext", {}).get("authorizer") or {}
    iam = authorizer.get("iam") if isinstance(authorizer, dict) else None
    arn = iam.get("userArn") if isinstance(iam, dict) else None
    return str(arn) if arn else None


def requires(scope: ApiKeyScope, api_keys: Callable[[], ApiKeyService], *, iam: bool = False) -> Middleware:
    """`api_keys`: the composition root's factory of the key service (called per request)."""

    def authenticate(resolver: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[Any]:
        caller = iam_caller(resolver.current_event.raw_event) if iam else None
        if caller is None:
            key = api_keys().authenticate(resolver.current_event.headers.get("authorization"))
            if key is None:
                raise Unauthorized("a valid API key is required: `Authorization: Bearer <key>`")
            if not grants(key, scope):
                raise Forbidden(f"this {key.scope} key may not call {scope} routes")
            caller = f"api_key:{key.id}"
        resolver.append_context(actor=caller)  # type: ignore[no-untyped-call]
        return next_middleware(resolver)

    return authenticate
