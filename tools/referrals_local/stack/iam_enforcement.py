"""The local AWS endpoint refuses what a function's role does not allow, as AWS does (ADR 0017).

A request signed with a function's credentials (iam_roles) is authorised per action and per resource
(iam_requests) against the role's compiled policies (iam_policy); a refusal is answered in the
service's own error shape: DynamoDB, EventBridge and SSM `AccessDeniedException` (HTTP 400), SQS
`AccessDenied` (403), with AWS's message ("User: <session> is not authorized to perform: <action> on
resource: <arn> because no identity-based policy allows the <action> action"); a function's key with
another session token is refused as an invalid security token. Requests signed with any other key
(the CLI's, the supervisor's, the tests', a developer's own) are an administrator's and pass
unchecked.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from referrals_local.stack import iam_requests
from referrals_local.stack.iam_policy import Decision, Policy
from referrals_local.stack.iam_roles import FUNCTION_KEY_PREFIX, FunctionRole, read_roles
from referrals_local.stack.model import ACCOUNT

Response = tuple[int, dict[str, str], str]


@dataclass
class Principal:
    role: FunctionRole
    policy: Policy


@dataclass
class Roles:
    """The roles file, read again whenever it changes: a role edited in `iam-roles.json` applies from
    the next request (one stat() per request signed by a function)."""

    path: Path | None = None
    _principals: dict[str, Principal] = field(default_factory=dict)
    _read_at: int | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def principal(self, access_key_id: str) -> Principal | None:
        if self.path is not None:
            with self._lock:
                self._reload(self.path)
        return self._principals.get(access_key_id)

    def _reload(self, path: Path) -> None:
        try:
            modified = path.stat().st_mtime_ns
        except FileNotFoundError:
            return
        if modified != self._read_at:
            try:
                roles = read_roles(path)
            except ValueError:  # being written by an editor: the next request reads it whole
                return
            self._principals = {
                key: Principal(role, Policy.compile(role.policies.values())) for key, role in roles.items()
            }
            self._read_at = modified


ROLES = Roles()


def _credential(headers: Any) -> tuple[str, str, str] | None:
    """Access key id, region and service of a SigV4 Authorization header."""
    authorization = headers.get("Authorization") or ""
    scope = authorization.partition("Credential=")[2].partition(",")[0].split("/")
    if len(scope) < 4:
        return None
    return scope[0], scope[2], scope[3]


def _params(handler: Any) -> dict[str, Any]:
    body = handler.raw_body
    if body and "json" in (handler.headers.get("Content-Type") or ""):
        try:
            loaded = json.loads(body)
        except ValueError:
            return {}  # the service answers the malformed request itself
        return loaded if isinstance(loaded, dict) else {}
    return {key: values[0] for key, values in handler.querystring.items() if values}


_ERROR_SHAPES: dict[str, tuple[int, str, str]] = {  # service → status, type prefix, content type
    "dynamodb": (400, "com.amazonaws.dynamodb.v20120810#", "application/x-amz-json-1.0"),
    "sqs": (403, "com.amazon.coral.service#", "application/x-amz-json-1.0"),
}
_DEFAULT_SHAPE = (400, "", "application/x-amz-json-1.1")  # events, ssm and the other JSON services


def _error(service: str, code: str, query_code: str, message: str) -> Response:
    status, prefix, content_type = _ERROR_SHAPES.get(service, _DEFAULT_SHAPE)
    headers = {"Content-Type": content_type, "x-amzn-RequestId": str(uuid.uuid4())}
    if service == "sqs":
        headers["x-amzn-query-error"] = f"{query_code};Sender"  # SQS's JSON errors carry the query code
    return status, headers, json.dumps({"__type": prefix + code, "message": message})


def refusal(handler: Any) -> Response | None:
    """The error to answer instead of `handler`'s action, or None when the caller may go ahead."""
    credential = _credential(handler.headers)
    if credential is None or not credential[0].startswith(FUNCTION_KEY_PREFIX):
        return None  # an administrator
    access_key_id, region, service = credential
    principal = ROLES.principal(access_key_id)
    if principal is None:
        return None  # a session that is no function's, e.g. a developer's own: an administrator
    if handler.headers.get("X-Amz-Security-Token") != principal.role.session_token:
        message = "The security token included in the request is invalid."
        return _error(service, "UnrecognizedClientException", "InvalidClientTokenId", message)
    request = iam_requests.Request(service, handler._get_action(), _params(handler), region, ACCOUNT)
    for action, resource in iam_requests.authorisations(request):
        decision = principal.policy.decide(action, resource)
        if decision is not Decision.ALLOWED:
            on = "" if resource == "*" else f" on resource: {resource}"
            reason = (
                f"with {decision.value}"
                if decision is Decision.EXPLICITLY_DENIED
                else f"because {decision.value} the {action} action"
            )
            message = (
                f"User: {principal.role.session_arn} is not authorized to perform: {action}{on} {reason}"
            )
            return _error(service, "AccessDeniedException", "AccessDenied", message)
    return None


def enforced(call_action: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """moto's BaseResponse.call_action, refusing first what the caller's role does not allow."""

    def call(self: Any) -> Any:
        refused = refusal(self)
        return refused if refused is not None else call_action(self)

    return call
