"""The generic inbound webhook: store the signal once, answer fast, refuse bad input writing nothing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from inbound_webhook import handler
from support.aws import AwsStack
from support.events import LambdaContext, http_event, json_body
from support.journey import create_campaign, enrol, generic_hook, hook_id_of, sign_up


@pytest.fixture
def hook(stack: AwsStack) -> dict[str, Any]:
    campaign = create_campaign()
    referral = sign_up(enrol(campaign["id"])["code"])
    return {"hook_id": hook_id_of(campaign), "code": referral["referral_code"], "campaign": campaign}


def test_get_with_code_stores_one_signal(stack: AwsStack, hook: dict[str, Any]) -> None:
    response = generic_hook(hook["hook_id"], {"code": hook["code"], "event_id": "order-1", "amount": "79.00"})

    assert response["statusCode"] == 202
    assert json_body(response) == {"accepted": True, "duplicate": False, "signal_id": "generic:order-1"}
    (signal,) = stack.items_of("signal")
    assert signal["match"] == {"code": hook["code"]}
    assert signal["campaign_id"] == hook["campaign"]["id"]
    assert signal["expires_at"] > 0


def test_a_replayed_event_id_is_acknowledged_but_stored_once(stack: AwsStack, hook: dict[str, Any]) -> None:
    query = {"code": hook["code"], "event_id": "order-1"}
    generic_hook(hook["hook_id"], query)
    again = generic_hook(hook["hook_id"], query)

    assert again["statusCode"] == 202
    assert json_body(again)["duplicate"] is True
    assert len(stack.items_of("signal")) == 1


def test_without_event_id_identical_calls_dedupe_and_different_amounts_do_not(
    stack: AwsStack, hook: dict[str, Any]
) -> None:
    for amount in ("10.00", "10.00", "99.00"):
        generic_hook(hook["hook_id"], {"code": hook["code"], "amount": amount, "currency": "USD"})
    assert len(stack.items_of("signal")) == 2


def test_post_json_with_referral_code(stack: AwsStack, hook: dict[str, Any]) -> None:
    response = generic_hook(
        hook["hook_id"], {}, method="POST", body={"referral_code": hook["code"], "event_id": "zap-1"}
    )
    assert response["statusCode"] == 202
    assert stack.items_of("signal")[0]["match"] == {"code": hook["code"]}


def test_post_form_encoded_base64_body(stack: AwsStack, hook: dict[str, Any]) -> None:
    event = http_event(
        "inbound_webhook/generic_post_form_base64",
        path_parameters={"hook_id": hook["hook_id"]},
        body=f"code={hook['code']}&event_id=form-1",
        base64_body=True,
    )
    assert handler(event, LambdaContext())["statusCode"] == 202
    assert stack.items_of("signal")[0]["event_id"] == "form-1"


@pytest.mark.parametrize(
    ("hook_id", "query", "body", "status", "code"),
    [
        ("Xq3vR8tYb2LmN5pK7wZs1cDf", {"code": "CODE"}, None, 404, "not_found"),
        ("short", {"code": "CODE"}, None, 404, "not_found"),
        ("HOOK", {}, None, 400, "invalid_request"),
        ("HOOK", {"code": "<script>"}, None, 400, "invalid_request"),
        ("HOOK", {"code": "CODE", "amount": "lots"}, None, 422, "validation_error"),
        ("HOOK", {"code": "CODE", "currency": "dollars"}, None, 422, "validation_error"),
        ("HOOK", {"code": "CODE"}, {"amount": "0"}, 422, "validation_error"),
        ("A" * 65, {"code": "CODE"}, None, 422, "validation_error"),
        ("HOOK", {}, "{broken", 400, "invalid_json"),
        ("HOOK", {}, "[1, 2]", 400, "invalid_json"),
        ("HOOK", {}, {"code": "x" * 300_000}, 413, "payload_too_large"),
    ],
)
def test_bad_calls_are_refused_and_write_nothing(
    stack: AwsStack,
    hook: dict[str, Any],
    hook_id: str,
    query: dict[str, str],
    body: Any,
    status: int,
    code: str,
) -> None:
    hook_id = hook["hook_id"] if hook_id == "HOOK" else hook_id
    query = {k: hook["code"] if v == "CODE" else v for k, v in query.items()}
    before = stack.items()

    response = generic_hook(hook_id, query, method="POST" if body is not None else "GET", body=body)

    assert response["statusCode"] == status
    assert json_body(response)["error"]["code"] == code
    assert stack.items() == before


def test_event_ids_are_scoped_to_their_campaign(stack: AwsStack) -> None:
    spring, autumn = create_campaign(), create_campaign()
    for campaign in (spring, autumn):
        code = sign_up(enrol(campaign["id"])["code"])["referral_code"]
        response = generic_hook(hook_id_of(campaign), {"code": code, "event_id": "1"})
        assert json_body(response)["duplicate"] is False
    assert len(stack.items_of("signal")) == 2


@pytest.mark.parametrize(
    ("query", "body", "field"),
    [
        ({"amount": "lots"}, None, "query.amount"),
        ({}, {"amount": "1.001"}, "amount"),
        ({}, {"email": "not-an-address"}, "email"),
        ({}, {"occurred_at": "2030-01-01T00:00:00"}, "occurred_at"),
    ],
)
def test_a_refused_value_is_named_by_its_field_and_not_echoed(
    stack: AwsStack, hook: dict[str, Any], query: dict[str, str], body: Any, field: str
) -> None:
    response = generic_hook(
        hook["hook_id"], {"code": hook["code"], **query}, method="POST" if body else "GET", body=body
    )

    error = json_body(response)["error"]
    assert response["statusCode"] == 422
    assert [detail["field"] for detail in error["details"]] == [field]
    sent = {**query, **(body or {})}
    assert all(value not in error["details"][0]["message"] for value in sent.values())


def test_a_form_and_a_json_body_override_the_query_string(stack: AwsStack, hook: dict[str, Any]) -> None:
    response = generic_hook(
        hook["hook_id"],
        {"code": hook["code"], "event_id": "from-query", "amount": "1.00"},
        method="POST",
        body={"event_id": "from-body", "amount": 12.5, "currency": "EUR", "email": " Bob@Example.com "},
    )

    assert json_body(response)["signal_id"] == "generic:from-body"
    (signal,) = stack.items_of("signal")
    assert (signal["amount"], signal["currency"]) == (Decimal("12.5"), "EUR")
    assert signal["match"] == {"code": hook["code"], "email": "bob@example.com"}


def test_a_vendor_hook_url_answers_a_head_check(stack: AwsStack) -> None:
    hook_id = "Q9fXw2LmN5pK7wZs1cDfXq3v"
    check = http_event(
        "inbound_webhook/vendor_zapier", path_parameters={"source": "intercom", "hook_id": hook_id}
    )
    check["requestContext"]["http"]["method"] = "HEAD"

    response = handler(check, LambdaContext())

    assert (response["statusCode"], response["body"]) == (200, "")


@pytest.mark.parametrize(("method", "path"), [("PUT", "/hooks/generic/{}"), ("GET", "/hooks/stripe/{}")])
def test_other_methods_and_paths_are_no_route(
    stack: AwsStack, hook: dict[str, Any], method: str, path: str
) -> None:
    event = http_event("inbound_webhook/generic_get", path=path.format(hook["hook_id"]))
    event["requestContext"]["http"]["method"] = method

    response = handler(event, LambdaContext())

    assert response["statusCode"] == 404
    assert json_body(response)["error"]["message"] == "no such route"
    assert stack.items_of("signal") == []
