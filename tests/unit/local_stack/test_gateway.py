"""The local HTTP API: routing from the template, payload v2 events, response mapping."""

from __future__ import annotations

import base64
import json

from referrals_local.stack.gateway import build_event, routes, to_http
from referrals_local.stack.runtime import InvokeResult
from support.function_specs import http_function

TABLE = routes(
    [
        http_function("hooks", ("POST", "/hooks/{source}/{hook_id}"), ("GET", "/hooks/generic/{hook_id}")),
        http_function("generic", ("POST", "/hooks/generic/{hook_id}")),
        http_function("click", ("GET", "/r/{code}")),
    ]
)


def route_for(method: str, path: str) -> tuple[str, dict[str, str]] | None:
    for route in TABLE:
        match = route.pattern.match(path)
        if match and route.method == method:
            return route.function.logical_id, match.groupdict()
    return None


def test_the_most_specific_route_wins_and_parameters_are_extracted() -> None:
    assert route_for("POST", "/hooks/generic/abc") == ("generic", {"hook_id": "abc"})
    assert route_for("POST", "/hooks/stripe/abc") == ("hooks", {"source": "stripe", "hook_id": "abc"})
    assert route_for("GET", "/r/abc/extra") is None
    assert route_for("DELETE", "/r/abc") is None


def test_a_get_becomes_a_v2_event() -> None:
    route = next(r for r in TABLE if r.path == "/r/{code}")
    event = build_event(
        route,
        "GET",
        "/r/Abc?x=1&x=2&y=",
        {"Host": "127.0.0.1:3000", "Cookie": "a=1; b=2", "X-Tag": "v"},
        b"",
        "127.0.0.1",
        {"code": "Abc"},
    )
    assert event["routeKey"] == "GET /r/{code}"
    assert (event["rawPath"], event["rawQueryString"]) == ("/r/Abc", "x=1&x=2&y=")
    assert event["queryStringParameters"] == {"x": "1,2", "y": ""}
    assert event["cookies"] == ["a=1", "b=2"]
    assert event["headers"] == {"host": "127.0.0.1:3000", "x-tag": "v"}
    assert event["pathParameters"] == {"code": "Abc"}
    assert event["requestContext"]["http"]["method"] == "GET"
    assert event["requestContext"]["domainName"] == "127.0.0.1:3000"
    assert event["isBase64Encoded"] is False
    assert "body" not in event


def test_text_bodies_pass_as_text_and_others_as_base64() -> None:
    route = TABLE[0]
    as_json = build_event(route, "POST", "/", {"Content-Type": "application/json"}, b'{"a": 1}', "::1", {})
    as_form = build_event(
        route, "POST", "/", {"Content-Type": "application/x-www-form-urlencoded"}, b"a=1", "::1", {}
    )
    assert (as_json["body"], as_json["isBase64Encoded"]) == ('{"a": 1}', False)
    assert (base64.b64decode(as_form["body"]), as_form["isBase64Encoded"]) == (b"a=1", True)


def test_responses_map_status_headers_cookies_and_bodies() -> None:
    output = {
        "statusCode": 302,
        "headers": {"Location": "https://x.example/"},
        "cookies": ["a=1", "b=2"],
        "body": "",
    }
    response = to_http(InvokeResult(True, json.dumps(output).encode(), 1.0, False))
    assert response.status == 302
    assert ("Location", "https://x.example/") in response.headers
    assert [v for k, v in response.headers if k == "Set-Cookie"] == ["a=1", "b=2"]

    binary = {"statusCode": 200, "body": base64.b64encode(b"\x00\x01").decode(), "isBase64Encoded": True}
    assert to_http(InvokeResult(True, json.dumps(binary).encode(), 1.0, False)).body == b"\x00\x01"


def test_a_simple_response_is_json_200_and_errors_are_500_or_504() -> None:
    simple = to_http(InvokeResult(True, b'{"hello": "world"}', 1.0, False))
    assert (simple.status, json.loads(simple.body)) == (200, {"hello": "world"})
    assert (
        to_http(InvokeResult(False, b'{"errorMessage": "x"}', 1.0, False, "Runtime.Unhandled")).status == 500
    )
    assert to_http(InvokeResult(False, b"{}", 1.0, False, "Sandbox.Timedout")).status == 504


def test_an_iam_route_gets_no_authorizer_context_whatever_the_request_claims() -> None:
    """The local gateway verifies no SigV4 signature, so it must never vouch for an IAM caller: the admin
    function then requires an admin key."""
    [route] = routes([http_function("admin", ("GET", "/v1/admin/queues"))])
    signed = {
        "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261123/us-east-1/execute-api/aws4_request"
        ", SignedHeaders=host;x-amz-date, Signature=0123",
        "X-Amz-Date": "20261123T201504Z",
        "X-Amz-Security-Token": "token",
    }

    event = build_event(route, "GET", "/v1/admin/queues", signed, b"", "127.0.0.1", {})

    assert "authorizer" not in event["requestContext"]
    assert event["headers"]["authorization"].startswith("AWS4-HMAC-SHA256")
