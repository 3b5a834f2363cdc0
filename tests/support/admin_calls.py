"""Calling the admin function's routes as API Gateway invokes them (the integration tests' admin)."""

from __future__ import annotations

from typing import Any

import admin
from support.events import LambdaContext, http_event


def call(
    method: str,
    route: str,
    *,
    key: str | None = None,
    iam: bool = False,
    body: Any = None,
    query: dict[str, str] | None = None,
    path: dict[str, str] | None = None,
    **path_parameters: str,
) -> dict[str, Any]:
    """An admin route as API Gateway invokes it: with the IAM authorizer's context or a bearer key."""
    path_parameters = {**(path or {}), **path_parameters}
    event = http_event(
        "admin/discard_message",
        path=route.format(**path_parameters),
        path_parameters=path_parameters,
        body=body,
        query=query,
        headers={"authorization": f"Bearer {key}"} if key else None,
    )
    if body is None:
        event.pop("body", None)
    event["routeKey"] = event["requestContext"]["routeKey"] = f"{method} {route}"
    event["requestContext"]["http"]["method"] = method
    if not iam:
        del event["requestContext"]["authorizer"]
    return admin.handler(event, LambdaContext("admin"))
