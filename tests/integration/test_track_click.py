"""GET /r/{code}: one DynamoDB call, a first-party cookie, a redirect only to the campaign's landing URL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from referral_engine.adapters import aws
from support.aws import AwsStack
from support.events import LambdaContext, http_event, json_body
from support.journey import click, create_campaign, enrol


@pytest.fixture
def dynamodb_calls(stack: AwsStack) -> Iterator[list[str]]:
    calls: list[str] = []

    def count(event_name: str, **_: Any) -> None:
        calls.append(event_name.rsplit(".", 1)[-1])

    aws.dynamodb().meta.events.register("before-call.dynamodb", count)
    yield calls
    aws.dynamodb().meta.events.unregister("before-call.dynamodb", count)


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
    (cookie,) = response["cookies"]
    assert cookie.startswith(f"ref={code};")
    assert all(flag in cookie for flag in ("Secure", "HttpOnly", "SameSite=Lax", "Max-Age=2592000"))
    click(code)
    (participant,) = stack.items_of("participant")
    assert participant["clicks"] == 2


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


def test_unknown_code_is_404_and_creates_nothing(stack: AwsStack, dynamodb_calls: list[str]) -> None:
    before = stack.items()
    response = click("zzzzzzzzzzzz")

    assert response["statusCode"] == 404
    assert json_body(response)["error"]["code"] == "unknown_code"
    assert stack.items() == before


@pytest.mark.parametrize("code", ["", "..%2F..", "a" * 200, "<script>", "ab"])
def test_malformed_codes_are_404_without_touching_the_table(
    stack: AwsStack, dynamodb_calls: list[str], code: str
) -> None:
    response = click(code)
    assert response["statusCode"] == 404
    assert dynamodb_calls == []
