"""The API Gateway request id on every HTTP answer (`Request-Id`), in every error body and in the logs."""

from __future__ import annotations

import json
from typing import Any

import pytest

import api
import inbound_webhook
import track_click
from referral_engine import observability
from support.aws import AwsStack
from support.events import LambdaContext, http_event, json_body
from support.journey import AUTH, CAMPAIGN, create_campaign, enrol

REQUEST_ID = "Kx3vQ1sZoAMEb7w="


def with_request_id(event: dict[str, Any]) -> dict[str, Any]:
    event["requestContext"]["requestId"] = REQUEST_ID
    return event


def call(handler: Any, sample: str, **kwargs: Any) -> dict[str, Any]:
    response: dict[str, Any] = handler(with_request_id(http_event(sample, **kwargs)), LambdaContext())
    return response


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"body": CAMPAIGN, "headers": AUTH}, 201),
        ({"body": CAMPAIGN, "headers": {"authorization": "Bearer rk_wrong"}}, 401),
        ({"body": "{not json", "headers": AUTH}, 400),
        ({"body": {"name": "x"}, "headers": AUTH}, 422),
        ({"body": CAMPAIGN, "headers": {**AUTH, "idempotency-key": "k" * 256}}, 400),
        ({"path": "/v1/nowhere", "body": CAMPAIGN, "headers": AUTH}, 404),
    ],
)
def test_every_api_answer_carries_the_request_id(
    stack: AwsStack, kwargs: dict[str, Any], status: int
) -> None:
    response = call(api.handler, "api/create_campaign", **kwargs)

    assert response["statusCode"] == status
    assert response["headers"]["Request-Id"] == REQUEST_ID
    if status >= 400:
        assert json_body(response)["error"]["request_id"] == REQUEST_ID


def test_the_request_id_is_the_log_lines_correlation_id(
    stack: AwsStack, caplog: pytest.LogCaptureFixture
) -> None:
    call(api.handler, "api/create_campaign", body=CAMPAIGN, headers=AUTH)

    (record,) = [r for r in caplog.records if r.getMessage() == "campaign created"]
    line = json.loads(observability.logger.registered_formatter.format(record))  # as the function prints it
    assert line["correlation_id"] == REQUEST_ID


def test_inbound_webhook_answers_carry_the_request_id(stack: AwsStack) -> None:
    hook_id = create_campaign()["hook_url"].rsplit("/", 1)[1]

    accepted = call(
        inbound_webhook.handler,
        "inbound_webhook/generic_get",
        path=f"/hooks/generic/{hook_id}",
        path_parameters={"hook_id": hook_id},
        query={"code": "NOPE1234", "event_id": "evt_1"},
    )
    refused = call(
        inbound_webhook.handler,
        "inbound_webhook/generic_get",
        path="/hooks/generic/not-a-hook",
        path_parameters={"hook_id": "not-a-hook"},
    )

    assert accepted["statusCode"] == 202
    assert accepted["headers"]["Request-Id"] == REQUEST_ID
    assert refused["statusCode"] == 404
    assert refused["headers"]["Request-Id"] == REQUEST_ID
    assert json_body(refused)["error"]["request_id"] == REQUEST_ID


def test_track_click_answers_carry_the_request_id(stack: AwsStack) -> None:
    code = enrol(create_campaign()["id"])["code"]

    redirect = call(track_click.handler, "track_click/get_referral_link", path_parameters={"code": code})
    unknown = call(track_click.handler, "track_click/get_referral_link", path_parameters={"code": "NOPE1234"})

    assert (redirect["statusCode"], unknown["statusCode"]) == (302, 302)  # unknown: to the fallback page
    assert redirect["headers"]["Request-Id"] == unknown["headers"]["Request-Id"] == REQUEST_ID
