"""The typed API: Powertools validates path, query and body against the handlers' models, after the API
key; every refusal is our 4xx JSON and writes nothing; list routes share one page shape; the OpenAPI
document is served without a key."""

from __future__ import annotations

import json
from typing import Any

import pytest

import api
from support.aws import AwsStack
from support.events import LambdaContext, http_event, json_body
from support.journey import AUTH, CAMPAIGN, call_api, call_route, create_campaign, create_connection

DOCUMENT = "docs/openapi.json"


def details(response: dict[str, Any]) -> dict[str, str]:
    assert response["statusCode"] == 422, response
    error = json_body(response)["error"]
    assert error["code"] == "validation_error"
    return {detail["field"]: detail["message"] for detail in error["details"]}


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({**CAMPAIGN, "reward": {"amount": ["20"], "currency": "USD"}}, {"reward.amount"}),
        ({"landing_url": CAMPAIGN["landing_url"], "reward": 20}, {"name", "reward"}),
        ({**CAMPAIGN, "owner": "mallory", "name": 7}, {"owner", "name"}),
    ],
    ids=["wrong-type", "missing-and-wrong-type", "unknown-field"],
)
def test_a_bad_body_is_a_422_naming_each_field_and_writes_nothing(
    stack: AwsStack, body: dict[str, Any], fields: set[str]
) -> None:
    before = stack.items()
    response = call_api("create_campaign", body=body)
    assert set(details(response)) == fields
    assert "mallory" not in response["body"]  # the values sent are never echoed
    assert stack.items() == before


def test_an_empty_body_is_a_422_about_the_body(stack: AwsStack) -> None:
    before = stack.items()
    assert set(details(call_api("sign_up", body=""))) == {"body"}
    assert stack.items() == before


def test_wrong_query_types_are_422_naming_the_parameter(stack: AwsStack) -> None:
    campaign_id = create_campaign()["id"]
    response = call_route(
        "GET", "/v1/campaigns/{campaign_id}/referrals", query={"limit": "many"}, campaign_id=campaign_id
    )
    assert set(details(response)) == {"query.limit"}


def test_an_over_long_path_value_is_a_422(stack: AwsStack) -> None:
    response = call_route("GET", "/v1/connections/{connection_id}", connection_id="c" * 65)
    assert set(details(response)) == {"path.connection_id"}


def test_a_body_that_is_not_json_is_a_415(stack: AwsStack) -> None:
    before = stack.items()
    response = call_api("create_campaign", body=json.dumps(CAMPAIGN), headers={"content-type": "text/plain"})
    assert response["statusCode"] == 415
    assert json_body(response)["error"]["code"] == "unsupported_media_type"
    assert stack.items() == before


def test_a_json_body_labelled_as_a_form_is_read_as_json(stack: AwsStack) -> None:
    # What `curl -d '{...}'` sends, as in the README's quickstart.
    form = {"content-type": "application/x-www-form-urlencoded"}
    response = call_api("create_campaign", body=json.dumps(CAMPAIGN), headers=form)
    assert response["statusCode"] == 201
    assert json_body(response)["name"] == CAMPAIGN["name"]


def test_the_api_key_is_checked_before_the_body(stack: AwsStack) -> None:
    response = call_api("create_campaign", body={"surprise": True}, headers={"authorization": "Bearer rk_no"})
    assert response["statusCode"] == 401
    assert json_body(response)["error"]["code"] == "unauthorized"


def test_connections_are_listed_a_page_at_a_time(stack: AwsStack) -> None:
    campaign_id = create_campaign()["id"]
    created = [create_connection(campaign_id, source=source)["id"] for source in ("zapier", "make", "zapier")]

    def page(**query: str) -> dict[str, Any]:
        response = call_route(
            "GET", "/v1/campaigns/{campaign_id}/connections", query=query, campaign_id=campaign_id
        )
        assert response["statusCode"] == 200, response
        return json_body(response)

    first = page(limit="2")
    rest = page(limit="2", cursor=first["next_cursor"])
    assert len(first["items"]) == 2
    assert rest["next_cursor"] is None
    assert sorted(c["id"] for c in first["items"] + rest["items"]) == sorted(created)
    assert page() == {"items": first["items"] + rest["items"], "next_cursor": None}
    bad = call_route(
        "GET", "/v1/campaigns/{campaign_id}/connections", query={"cursor": "bm9wZQ"}, campaign_id=campaign_id
    )
    assert (bad["statusCode"], json_body(bad)["error"]["code"]) == (400, "invalid_request")


def test_the_openapi_document_is_served_without_a_key(stack: AwsStack) -> None:
    response = call_route("GET", "/v1/openapi.json", headers={})
    assert response["statusCode"] == 200
    served = json_body(response)
    with open(DOCUMENT, encoding="utf-8") as committed:
        assert served == json.load(committed)
    assert "/v1/campaigns" in served["paths"]


@pytest.mark.parametrize(
    "idempotency", [{}, {"idempotency-key": "retry-1"}], ids=["plain", "with an Idempotency-Key"]
)
@pytest.mark.parametrize("body", [b"\xff\xfe\x00{", "abcde"], ids=["not UTF-8", "not base64"])
def test_a_body_that_cannot_be_read_as_text_is_a_400(
    stack: AwsStack, body: bytes | str, idempotency: dict[str, str]
) -> None:
    before = stack.items()
    event = http_event("api/create_campaign", headers={**AUTH, **idempotency}, body=body, base64_body=True)
    if isinstance(body, str):  # base64 the gateway could never have produced
        event["body"] = body
    response = api.handler(event, LambdaContext())
    assert response["statusCode"] == 400
    assert json_body(response)["error"]["code"] == "invalid_body"
    assert stack.items() == before


def test_a_key_that_is_not_ascii_is_a_401(stack: AwsStack) -> None:
    response = call_api("create_campaign", body=CAMPAIGN, headers={"authorization": "Bearer \udcff\u00e9"})
    assert response["statusCode"] == 401
    assert json_body(response)["error"]["code"] == "unauthorized"
