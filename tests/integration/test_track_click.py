"""GET /r/{code}: one DynamoDB write, a first-party cookie, a redirect only to the campaign's landing URL,
whatever happens to the count (ADR 0014)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from referral_engine.adapters import aws
from support.aws import AwsStack
from support.click_calls import cold_container_calls
from support.events import LambdaContext, http_event, json_body
from support.journey import click, create_campaign, enrol
from support.throttling import THROTTLED, refusing

LANDING = "https://shop.example.com/welcome?utm_source=referral&ref="


@pytest.fixture(autouse=True)
def dynamodb_calls(stack: AwsStack) -> Iterator[list[str]]:
    with cold_container_calls() as calls:
        yield calls


def click_shards(stack: AwsStack, code: str) -> dict[str, int]:
    return {
        item["pk"]: item["clicks"]
        for item in stack.items_of("click_shard")
        if item["pk"].startswith(f"CLICKS#{code}#")
    }


def emf_lines(output: str) -> list[dict[str, Any]]:
    return [line for line in map(json.loads, output.splitlines()) if "_aws" in line]


def test_click_redirects_with_ref_sets_cookie_and_counts_once(
    stack: AwsStack, dynamodb_calls: list[str]
) -> None:
    code = enrol(create_campaign()["id"])["code"]
    dynamodb_calls.clear()

    response = click(code)

    assert dynamodb_calls == ["UpdateItem"]
    assert response["statusCode"] == 302
    location = urlsplit(response["headers"]["Location"])
    assert (location.scheme, location.netloc, location.path) == ("https", "shop.example.com", "/welcome")
    assert parse_qs(location.query) == {"utm_source": ["referral"], "ref": [code]}
    assert response["headers"]["Cache-Control"] == "no-store"
    cookie, repeat_window = response["cookies"]
    assert repeat_window.startswith(f"rc_{code}=")  # docs/adr/0023
    assert cookie.startswith(f"ref={code};")
    assert all(flag in cookie for flag in ("Secure", "HttpOnly", "SameSite=Lax", "Max-Age=2592000"))
    (participant,) = stack.items_of("participant")
    assert participant["clicks"] == 1


def test_a_warm_container_counts_on_a_random_shard_in_one_write(
    stack: AwsStack, dynamodb_calls: list[str]
) -> None:
    code = enrol(create_campaign()["id"])["code"]
    click(code)
    dynamodb_calls.clear()

    responses = [click(code) for _ in range(6)]

    assert [r["headers"]["Location"] for r in responses] == [LANDING + code] * 6
    assert dynamodb_calls == ["UpdateItem"] * 6
    (participant,) = stack.items_of("participant")
    assert participant["clicks"] == 1  # the first click's; the others went to shard items
    assert sum(click_shards(stack, code).values()) == 6


def test_a_throttled_first_click_still_redirects_and_is_counted_on_a_shard(
    stack: AwsStack, dynamodb_calls: list[str]
) -> None:
    code = enrol(create_campaign()["id"])["code"]
    dynamodb_calls.clear()

    with refusing(
        aws.dynamodb_without_retries(),
        lambda op, pk: THROTTLED if (op, pk) == ("UpdateItem", f"CODE#{code}") else None,
    ):
        response = click(code)

    assert response["statusCode"] == 302
    assert response["headers"]["Location"] == LANDING + code
    assert dynamodb_calls == ["UpdateItem", "GetItem", "UpdateItem"]  # refused, the target read, a shard
    assert sum(click_shards(stack, code).values()) == 1


def test_when_every_write_is_throttled_the_click_redirects_and_is_metered_as_lost(
    stack: AwsStack, dynamodb_calls: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code = enrol(create_campaign()["id"])["code"]
    capsys.readouterr()
    dynamodb_calls.clear()

    with refusing(
        aws.dynamodb_without_retries(), lambda op, pk: THROTTLED if op == "UpdateItem" else None
    ) as refused:
        first, warm = click(code), click(code)

    assert [first["statusCode"], warm["statusCode"]] == [302, 302]
    assert first["headers"]["Location"] == warm["headers"]["Location"] == LANDING + code
    assert [c.split("=", 1)[0] for c in first["cookies"]] == ["ref"]  # uncounted: no repeat window
    # the first: the participant item, the target read, then 3 shards; the warm one: 3 shards, no read
    assert dynamodb_calls == ["UpdateItem", "GetItem"] + ["UpdateItem"] * 6
    assert len({pk for _, pk, _ in refused[1:4]}) == 3  # three different shards each time
    lines = emf_lines(capsys.readouterr().out)
    assert [(line["Clicks"], line.get("ClicksLost")) for line in lines] == [(1, 1), (1, 1)]
    assert click_shards(stack, code) == {}


def test_an_unknown_code_goes_to_the_fallback_even_when_writes_are_throttled(stack: AwsStack) -> None:
    before = stack.items()

    with refusing(aws.dynamodb_without_retries(), lambda op, pk: THROTTLED if op == "UpdateItem" else None):
        response = click("zzzzzzzzzzzz")
        again = click("zzzzzzzzzzzz")

    assert [response["statusCode"], again["statusCode"]] == [302, 302]
    assert response["headers"]["Location"] == again["headers"]["Location"] == "/r"
    assert stack.items() == before


def test_no_redirect_target_readable_is_a_503_error_not_a_guess(stack: AwsStack) -> None:
    code = enrol(create_campaign()["id"])["code"]

    with refusing(
        aws.dynamodb_without_retries(),
        lambda op, pk: THROTTLED if op == "UpdateItem" else "InternalServerError",
    ):
        response = click(code)

    assert response["statusCode"] == 503
    assert json_body(response)["error"]["code"] == "unavailable"
    assert "Location" not in response["headers"]


def test_the_api_participant_view_sums_the_item_and_its_shards(stack: AwsStack) -> None:
    campaign_id = create_campaign()["id"]
    code = enrol(campaign_id)["code"]
    # Clicks counted before the shards existed stay on the participant item, and keep counting.
    stack.dynamodb.update_item(
        TableName=stack.dynamodb.describe_table(TableName="referrals-test")["Table"]["TableName"],
        Key={"pk": {"S": f"CODE#{code}"}, "sk": {"S": "CODE"}},
        UpdateExpression="SET clicks = :before",
        ExpressionAttributeValues={":before": {"N": "10"}},
    )
    for _ in range(5):
        assert click(code)["statusCode"] == 302  # 1 on the participant item, 4 on shards

    assert enrol(campaign_id)["clicks"] == 15


def test_the_request_cannot_choose_the_redirect_target(stack: AwsStack) -> None:
    code = enrol(create_campaign(landing_url="https://shop.example.com/?ref=old")["id"])["code"]
    event = http_event(
        "track_click/get_referral_link",
        path_parameters={"code": code},
        query={"next": "https://evil.example.net/", "url": "//evil.example.net"},
        headers={"referer": "https://evil.example.net/", "host": "evil.example.net"},
    )

    location = urlsplit(__import__("track_click").handler(event, LambdaContext())["headers"]["Location"])

    assert location.netloc == "shop.example.com"
    assert parse_qs(location.query) == {"ref": [code]}


def test_unknown_code_goes_to_the_fallback_and_creates_nothing(
    stack: AwsStack, dynamodb_calls: list[str]
) -> None:
    before = stack.items()
    response = click("zzzzzzzzzzzz")

    assert (response["statusCode"], response["headers"]["Location"]) == (302, "/r")
    assert "cookies" not in response
    assert dynamodb_calls == ["UpdateItem"]  # the count's condition failed: nothing written
    assert stack.items() == before


@pytest.mark.parametrize("code", ["", "..%2F..", "a" * 200, "<script>", "ab"])
def test_malformed_codes_go_to_the_fallback_without_touching_the_table(
    stack: AwsStack, dynamodb_calls: list[str], code: str
) -> None:
    response = click(code)
    assert (response["statusCode"], response["headers"]["Location"]) == (302, "/r")
    assert dynamodb_calls == []
