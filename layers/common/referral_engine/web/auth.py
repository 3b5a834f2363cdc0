"""Who may call a route: the one place API key scopes (and, on the admin routes, IAM) are checked.

No valid key is 401, a key whose scope does not grant the route is 403 (a server key on an admin
route). With `iam=True` an API Gateway `AWS_IAM` authorizer's caller (`requestContext.authorizer.iam`)
is admitted without a key: on AWS the gateway has verified its SigV4 signature; the local stack's
gateway never sets that context, so locally an admin key is needed. The caller is the `actor` (the IAM
ARN, or `api_key:<key id>`): `requires` is a resolver middleware that keeps it in the resolver's
context, `admits` a route table's (web/routes.py) that sets it on the request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from referral_engine.ports import ApiKeyScope
from referral_engine.services.api_keys import ApiKeyService, grants
from referral_engine.web.errors import Forbidden, Unauthorized

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
    from aws_lambda_powertools.event_handler.middlewares import NextMiddleware

    from referral_engine.web.routes import Answer, Request, Respond

    Middleware = Callable[[APIGatewayHttpResolver, NextMiddleware], Response[Any]]


def iam_caller(event: dict[str, Any]) -> str | None:
    """The caller's ARN when an AWS_IAM authorizer admitted the request."""
    authorizer = event.get("requestContext", {}).get("authorizer") or {}
    iam = authorizer.get("iam") if isinstance(authorizer, dict) else None
    arn = iam.get("userArn") if isinstance(iam, dict) else None
    return str(arn) if arn else None


def actor_of(
    event: dict[str, Any],
    authorization: str | None,
    scope: ApiKeyScope,
    api_keys: Callable[[], ApiKeyService],
    *,
    iam: bool,
) -> str:
    """Who calls (`authorization`: the request's header), or Unauthorized / Forbidden."""
    caller = iam_caller(event) if iam else None
    if caller is not None:
        return caller
    key = api_keys().authenticate(authorization)
    if key is None:
        raise Unauthorized("a valid API key is required: `Authorization: Bearer <key>`")
    if not grants(key, scope):
        raise Forbidden(f"this {key.scope} key may not call {scope} routes")
    return f"api_key:{key.id}"


def requires(scope: ApiKeyScope, api_keys: Callable[[], ApiKeyService], *, iam: bool = False) -> Middleware:
    """`api_keys`: the composition root's factory of the key service (called per request)."""

    def authenticate(resolver: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[Any]:
        event = resolver.current_event
        actor = actor_of(event.raw_event, event.headers.get("authorization"), scope, api_keys, iam=iam)
        resolver.append_context(actor=actor)  # type: ignore[no-untyped-call]
        return next_middleware(resolver)

    return authenticate


def admits(
    scope: ApiKeyScope, api_keys: Callable[[], ApiKeyService], *, iam: bool = False
) -> Callable[..., Answer]:
    """`requires` for a route table: the request goes on with its `actor`."""

    def authenticate(request: Request, then: Respond) -> Answer:
        actor = actor_of(request.event, request.header("authorization"), scope, api_keys, iam=iam)
        return then(replace(request, actor=actor))

    return authenticate
