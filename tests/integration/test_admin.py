"""The admin handler (/v1/admin/...) with HTTP API v2 events: who may call it, the queue actions, the
admin log and API keys, and that bad input writes nothing."""

from __future__ import annotations

import copy
import json
from typing import Any

import boto3
import pytest

import admin
from support.admin_calls import call
from support.aws import API_KEY, FAILURE_QUEUES, AwsStack
from support.events import LambdaContext, http_event, json_body, sample
from support.journey import (
    CAMPAIGN,
    call_api,
    create_campaign,
    enrol,
    generic_hook,
    hook_id_of,
    run_qualify,
    sign_up,
)

ADMIN_ARN = "arn:aws:sts::123456789012:assumed-role/ReferralAdmins/ada"  # events/admin/discard_message.json


@pytest.fixture
def admin_key(stack: AwsStack, monkeypatch: pytest.MonkeyPatch) -> str:
    """The stack with the failure queues in the admin function's environment, and an admin key."""
    from referral_engine import settings, wiring

    sqs = boto3.client("sqs")
    for variable, name in FAILURE_QUEUES.items():
        monkeypatch.setenv(variable, sqs.create_queue(QueueName=name)["QueueUrl"])
    settings.get_settings.cache_clear()
    wiring.services.cache_clear()
    return wiring.api_keys().create("console", scope="admin").secret


def an_unmatched_signal(email: str = "late@example.org") -> dict[str, Any]:
    campaign = create_campaign()
    code = enrol(campaign["id"])["code"]
    assert generic_hook(hook_id_of(campaign), {"email": email, "event_id": "order-1"})["statusCode"] == 202
    return {"campaign": campaign, "code": code}


def exceptions(key: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = json_body(
        call("GET", "/v1/admin/queues/{queue}/messages", key=key, queue="exceptions")
    )["items"]
    return items


def error_code(response: dict[str, Any]) -> str:
    return str(json_body(response)["error"]["code"])


# ------------------------------------------------------------------------------------ who may call
ROUTES = [
    ("GET", "/v1/admin/queues", {}),
    ("GET", "/v1/admin/log", {}),
    ("GET", "/v1/admin/api-keys", {}),
    ("GET", "/v1/admin/queues/{queue}/messages", {"queue": "exceptions"}),
]


@pytest.mark.parametrize(("method", "route", "path"), ROUTES)
def test_without_a_key_or_iam_it_is_401(
    admin_key: str, method: str, route: str, path: dict[str, str]
) -> None:
    response = call(method, route, path=path)

    assert response["statusCode"] == 401
    assert error_code(response) == "unauthorized"


@pytest.mark.parametrize(("method", "route", "path"), ROUTES)
def test_a_server_key_is_403(admin_key: str, method: str, route: str, path: dict[str, str]) -> None:
    response = call(method, route, key=API_KEY, path=path)

    assert response["statusCode"] == 403
    assert error_code(response) == "forbidden"


def test_an_admin_key_lists_the_queues_with_their_depths(stack: AwsStack, admin_key: str) -> None:
    an_unmatched_signal()
    run_qualify(stack)

    response = call("GET", "/v1/admin/queues", key=admin_key)

    assert response["statusCode"] == 200
    listed = json_body(response)
    assert listed["next_cursor"] is None
    depths = {q["name"]: q["visible"] for q in listed["items"]}
    assert depths == {**dict.fromkeys(FAILURE_QUEUES.values(), 0), "exceptions": 1}


def test_an_iam_caller_is_admitted_and_is_the_actor_of_the_discard(stack: AwsStack, admin_key: str) -> None:
    given = an_unmatched_signal()
    run_qualify(stack)
    [message] = exceptions(admin_key)
    referral = sign_up(given["code"], "late@example.org")

    response = call(
        "POST",
        "/v1/admin/queues/{queue}/messages/{message_id}/discard",
        iam=True,
        body={"reason": "a test signup"},
        queue="exceptions",
        message_id=message["message_id"],
    )

    assert response["statusCode"] == 200, response["body"]
    assert json_body(response)["ok"] is True
    [log] = stack.items_of("admin_action")
    assert (log["action"], log["operator"], log["reason"]) == ("discard", ADMIN_ARN, "a test signup")
    audit = [a for a in stack.items_of("audit") if a["action"] == "admin.signal_discarded"]
    assert [(a["referral_id"], a["actor"]) for a in audit] == [(referral["id"], f"admin:{ADMIN_ARN}")]
    assert exceptions(admin_key) == []


def test_the_sample_event_is_admitted_as_the_iam_caller(stack: AwsStack, admin_key: str) -> None:
    event = copy.deepcopy(sample("admin/discard_message"))

    response = admin.handler(event, LambdaContext("admin"))

    assert response["statusCode"] == 404  # admitted; its message is not in this queue
    assert error_code(response) == "not_found"


# ------------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    ("method", "route", "path", "body", "query", "status"),
    [
        ("GET", "/v1/admin/queues/{queue}/messages", {"queue": "nope"}, None, None, 422),
        ("GET", "/v1/admin/queues/{queue}/messages", {"queue": "exceptions"}, None, {"limit": "0"}, 422),
        ("GET", "/v1/admin/queues/{queue}/messages", {"queue": "exceptions"}, None, {"cursor": "x"}, 400),
        ("GET", "/v1/admin/log", {}, None, {"cursor": "not-ours"}, 400),
        ("POST", "/v1/admin/queues/{queue}/messages/{message_id}/discard", "MESSAGE", {}, None, 422),
        (
            "POST",
            "/v1/admin/queues/{queue}/messages/{message_id}/discard",
            "MESSAGE",
            {"reason": "  "},
            None,
            422,
        ),
        ("POST", "/v1/admin/queues/{queue}/messages/{message_id}/discard", "MESSAGE", "{not json", None, 400),
        ("POST", "/v1/admin/queues/{queue}/messages/{message_id}/redrive", "MESSAGE", {"oops": 1}, None, 422),
        ("POST", "/v1/admin/queues/{queue}/messages/{message_id}/redrive", "MISSING", {}, None, 404),
        ("POST", "/v1/admin/api-keys", {}, {"name": "x", "scope": "root"}, None, 422),
        ("POST", "/v1/admin/api-keys", {}, {"scope": "admin"}, None, 422),
        ("DELETE", "/v1/admin/api-keys/{key_id}", {"key_id": "key_nope"}, None, None, 404),
    ],
)
def test_bad_input_is_a_4xx_json_error_and_writes_nothing(
    stack: AwsStack,
    admin_key: str,
    method: str,
    route: str,
    path: Any,
    body: Any,
    query: dict[str, str] | None,
    status: int,
) -> None:
    an_unmatched_signal()
    run_qualify(stack)
    [message] = exceptions(admin_key)
    if path in ("MESSAGE", "MISSING"):
        path = {"queue": "exceptions", "message_id": message["message_id"] if path == "MESSAGE" else "gone"}
    before = stack.items()

    response = call(method, route, key=admin_key, body=body, query=query, path=path)

    assert response["statusCode"] == status, response["body"]
    assert set(json_body(response)["error"]) >= {"code", "message"}
    assert stack.items() == before
    assert [m["message_id"] for m in exceptions(admin_key)] == [message["message_id"]]


# ------------------------------------------------------------------------------------ queue actions
def test_a_redrive_completes_the_signal_once_and_the_message_is_gone(stack: AwsStack, admin_key: str) -> None:
    given = an_unmatched_signal()
    run_qualify(stack)
    [message] = exceptions(admin_key)
    referral = sign_up(given["code"], "late@example.org")
    route = "/v1/admin/queues/{queue}/messages/{message_id}/redrive"

    first = call("POST", route, key=admin_key, body={"reason": "signed up late"}, queue="exceptions",
                 message_id=message["message_id"])  # fmt: skip
    again = call("POST", route, key=admin_key, queue="exceptions", message_id=message["message_id"])

    assert first["statusCode"] == 200, first["body"]
    result = json_body(first)
    assert result["ok"] is True
    assert result["detail"].startswith("stored again as generic:")
    assert again["statusCode"] == 404
    assert run_qualify(stack)["batchItemFailures"] == []
    assert json_body(call_api("get_referral", path_parameters={"referral_id": referral["id"]}))["status"] == (
        "qualified"
    )
    assert len([s for s in stack.items_of("signal") if s.get("redrive_of")]) == 1
    [log] = stack.items_of("admin_action")
    assert (log["action"], log["reason"], log["operator"]) == (
        "redrive",
        "signed up late",
        f"api_key:{_key_id(stack)}",
    )


def _key_id(stack: AwsStack) -> str:
    [console] = [k for k in stack.items_of("api_key") if k["name"] == "console"]
    return str(console["id"])


def test_the_admin_log_lists_the_decisions_newest_first(stack: AwsStack, admin_key: str) -> None:
    for email in ("a@example.org", "b@example.org"):
        an_unmatched_signal(email)
    run_qualify(stack)
    for message in exceptions(admin_key):
        discarded = call("POST", "/v1/admin/queues/{queue}/messages/{message_id}/discard", key=admin_key,
                         body={"reason": f"not ours: {message['message_id']}"}, queue="exceptions",
                         message_id=message["message_id"])  # fmt: skip
        assert discarded["statusCode"] == 200

    first = json_body(call("GET", "/v1/admin/log", key=admin_key, query={"limit": "1"}))
    rest = json_body(call("GET", "/v1/admin/log", key=admin_key, query={"cursor": first["next_cursor"]}))

    entries = first["items"] + rest["items"]
    assert rest["next_cursor"] is None
    assert [e["action"] for e in entries] == ["discard", "discard"]
    assert entries[0]["at"] > entries[1]["at"]
    assert all(e["reason"] == f"not ours: {e['message_id']}" and json.loads(e["body"]) for e in entries)


# ------------------------------------------------------------------------------------ API keys
def test_a_created_key_is_shown_once_listed_without_secrets_and_revoked_at_once(
    stack: AwsStack, admin_key: str
) -> None:
    created = call("POST", "/v1/admin/api-keys", key=admin_key, body={"name": "billing"})
    assert created["statusCode"] == 201
    key = json_body(created)
    assert (key["name"], key["scope"], key["revoked_at"]) == ("billing", "server", None)
    assert (
        call_api("create_campaign", body=CAMPAIGN, headers={"authorization": f"Bearer {key['api_key']}"})[
            "statusCode"
        ]
        == 201
    )

    listed = json_body(call("GET", "/v1/admin/api-keys", key=admin_key))
    revoked = call("DELETE", "/v1/admin/api-keys/{key_id}", key=admin_key, key_id=key["id"])

    assert {(k["name"], k["scope"]) for k in listed["items"]} >= {("billing", "server"), ("console", "admin")}
    assert key["api_key"] not in json.dumps(listed)
    assert all(set(k) == {"id", "name", "scope", "created_at", "revoked_at"} for k in listed["items"])
    assert revoked["statusCode"] == 200
    assert json_body(revoked)["revoked_at"] is not None
    refused = call_api(
        "create_campaign", body=CAMPAIGN, headers={"authorization": f"Bearer {key['api_key']}"}
    )
    assert refused["statusCode"] == 401
    logged = json_body(call("GET", "/v1/admin/log", key=admin_key))["items"]
    assert [(e["action"], e["key_id"], e["operator"]) for e in logged] == [
        ("api_key.revoke", key["id"], f"api_key:{_key_id(stack)}"),
        ("api_key.create", key["id"], f"api_key:{_key_id(stack)}"),
    ]
    assert key["api_key"] not in json.dumps(logged)


def test_an_admin_key_may_call_the_server_routes_and_a_publishable_key_neither(admin_key: str) -> None:
    publishable = json_body(
        call("POST", "/v1/admin/api-keys", key=admin_key, body={"name": "snippet", "scope": "publishable"})
    )["api_key"]

    assert (
        call_api("create_campaign", body=CAMPAIGN, headers={"authorization": f"Bearer {admin_key}"})[
            "statusCode"
        ]
        == 201
    )
    assert (
        call_api("create_campaign", body=CAMPAIGN, headers={"authorization": f"Bearer {publishable}"})[
            "statusCode"
        ]
        == 403
    )
    assert call("GET", "/v1/admin/queues", key=publishable)["statusCode"] == 403


def test_a_retried_key_creation_with_its_idempotency_key_creates_one_key(
    stack: AwsStack, admin_key: str
) -> None:
    event = http_event(
        "admin/discard_message",
        path="/v1/admin/api-keys",
        path_parameters={},
        body={"name": "billing"},
        headers={"authorization": f"Bearer {admin_key}", "idempotency-key": "create-billing-1"},
    )
    event["routeKey"] = event["requestContext"]["routeKey"] = "POST /v1/admin/api-keys"
    del event["requestContext"]["authorizer"]

    first = admin.handler(copy.deepcopy(event), LambdaContext("admin"))
    retried = admin.handler(copy.deepcopy(event), LambdaContext("admin"))

    assert first["statusCode"] == retried["statusCode"] == 201
    assert json_body(retried) == json_body(first)
    assert [k["name"] for k in stack.items_of("api_key")].count("billing") == 1
