"""Lambda events for the tests, built from the canonical samples in events/."""

from __future__ import annotations

import base64
import copy
import json
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from aws_lambda_powertools.utilities.typing import LambdaContext as PowertoolsLambdaContext

EVENTS = Path(__file__).resolve().parents[2] / "events"


def sample(name: str) -> dict[str, Any]:
    """events/<name>.json, e.g. sample("api/create_campaign")."""
    loaded: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    return loaded


def http_event(
    name: str,
    *,
    path: str | None = None,
    path_parameters: dict[str, str] | None = None,
    query: dict[str, str] | str | None = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
    drop_headers: tuple[str, ...] = (),
    base64_body: bool = False,
) -> dict[str, Any]:
    """A sample HTTP API (payload v2) event with its path, query, body or headers replaced.

    `body` may be a dict (sent as JSON), str or bytes. The path follows from the route and the path
    parameters unless `path` is given. `drop_headers` go before `headers` are added.
    """
    event = copy.deepcopy(sample(name))
    if path is None and path_parameters is not None:
        path = event["routeKey"].split(" ", 1)[1].format(**path_parameters)
    if path is not None:
        event["rawPath"] = path
        event["requestContext"]["http"]["path"] = path
    if path_parameters is not None:
        event["pathParameters"] = path_parameters
    if query is not None:
        raw = query if isinstance(query, str) else urlencode(query)
        event["rawQueryString"] = raw
        pairs = parse_qsl(raw, keep_blank_values=True)
        if pairs:
            event["queryStringParameters"] = dict(pairs)
        else:
            event.pop("queryStringParameters", None)
    for header in drop_headers:
        event["headers"].pop(header.lower(), None)
    if headers is not None:
        event["headers"] = {**event["headers"], **{k.lower(): v for k, v in headers.items()}}
    if body is not None:
        raw_body = json.dumps(body).encode() if isinstance(body, dict | list) else body
        raw_bytes = raw_body.encode() if isinstance(raw_body, str) else raw_body
        event["isBase64Encoded"] = base64_body
        event["body"] = base64.b64encode(raw_bytes).decode() if base64_body else raw_bytes.decode()
        event["headers"]["content-length"] = str(len(raw_bytes))
    return event


class LambdaContext(PowertoolsLambdaContext):
    """Lambda's context object, as a function in us-east-1 would receive it."""

    def __init__(self, function_name: str = "test-function") -> None:
        self._function_name = function_name
        self._function_version = "$LATEST"
        self._invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        self._memory_limit_in_mb = 512
        self._aws_request_id = str(uuid.uuid4())
        self._log_group_name = f"/aws/lambda/{function_name}"
        self._log_stream_name = "2026/11/23/[$LATEST]0123456789abcdef"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 10_000  # template.yaml's Globals.Function.Timeout, just invoked


def json_body(response: dict[str, Any]) -> dict[str, Any]:
    body = json.loads(response["body"])
    assert isinstance(body, dict), body
    return body
