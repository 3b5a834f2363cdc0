"""Which clicks count (docs/adr/0023): a HEAD and a known bot are redirected but not counted, a repeat by
the same browser within the window is counted apart, and an unknown code lands on the fallback page;
still one DynamoDB call per click."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

import track_click
from referral_engine.settings import get_settings
from support.aws import AwsStack
from support.click_calls import cold_container_calls
from support.events import LambdaContext, http_event
from support.journey import create_campaign, enrol

LANDING = "https://shop.example.com/welcome?utm_source=referral&ref="
SLACK = "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"


@pytest.fixture(autouse=True)
def dynamodb_calls(stack: AwsStack) -> Iterator[list[str]]:
    with cold_container_calls() as calls:
        yield calls


def request(
    code: str, *, method: str = "GET", user_agent: str = BROWSER, cookies: list[str] | None = None
) -> dict[str, Any]:
    event = http_event("track_click/get_referral_link", path=f"/r/{code}", path_parameters={"code": code})
    event["requestContext"]["http"].update(method=method, userAgent=user_agent)
    event["headers"]["user-agent"] = user_agent
    event["cookies"] = cookies or []
    response: dict[str, Any] = track_click.handler(event, LambdaContext())
    return response


def counts(stack: AwsStack, campaign_id: str) -> tuple[int, int]:
    participant = enrol(campaign_id)  # the same email again: the participant view, sums included
    return participant["clicks"], participant["repeat_clicks"]


def metric_lines(output: str) -> list[dict[str, Any]]:
    return [line for line in map(json.loads, output.splitlines()) if "_aws" in line]


def not_counted_reasons(output: str) -> list[str | None]:
    return [line.get("reason") for line in metric_lines(output) if line.get("ClicksNotCounted")]


def test_a_head_is_answered_like_a_get_and_not_counted(
    stack: AwsStack, dynamodb_calls: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    campaign_id = create_campaign()["id"]
    code = enrol(campaign_id)["code"]
    capsys.readouterr()
    dynamodb_calls.clear()

    cold_head = request(code, method="HEAD")
    warm_head = request(code, method="HEAD")
    get = request(code)

    assert dynamodb_calls == ["GetItem", "UpdateItem"]  # the cold HEAD's read; the warm one none
    assert cold_head["statusCode"] == warm_head["statusCode"] == get["statusCode"] == 302
    assert cold_head["headers"]["Location"] == get["headers"]["Location"] == LANDING + code
    assert cold_head["body"] == ""
    assert cold_head["cookies"] == [get["cookies"][0]]  # the `ref` cookie; no repeat window opened
    assert not_counted_reasons(capsys.readouterr().out) == ["head", "head"]
    assert counts(stack, campaign_id) == (1, 0)


@pytest.mark.parametrize(
    "user_agent",
    [
        SLACK,
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        "Twitterbot/1.0",
        "WhatsApp/2.23.20.0 A",
        "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
    ],
)
def test_a_link_preview_fetcher_is_redirected_but_not_counted(
    stack: AwsStack, dynamodb_calls: list[str], capsys: pytest.CaptureFixture[str], user_agent: str
) -> None:
    campaign_id = create_campaign()["id"]
    code = enrol(campaign_id)["code"]
    capsys.readouterr()
    dynamodb_calls.clear()

    response = request(code, user_agent=user_agent)

    assert dynamodb_calls == ["GetItem"]  # one call: the target, nothing written
    assert (response["statusCode"], response["headers"]["Location"]) == (302, LANDING + code)
    (line,) = metric_lines(capsys.readouterr().out)
    assert (line["Clicks"], line["ClicksNotCounted"], line["reason"]) == (1, 1, "bot")
    assert [d["Dimensions"] for d in line["_aws"]["CloudWatchMetrics"]] == [
        [["service"]],
        [["service", "reason"]],
    ]
    assert counts(stack, campaign_id) == (0, 0)


def test_a_repeat_within_the_window_is_counted_apart_in_the_same_single_write(
    stack: AwsStack, dynamodb_calls: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    campaign_id = create_campaign()["id"]
    code = enrol(campaign_id)["code"]
    other = enrol(campaign_id, email="grace@example.com")["code"]
    capsys.readouterr()
    dynamodb_calls.clear()

    first = request(code)
    ref_cookie, window = first["cookies"]
    assert window.split("; ") == [
        f"rc_{code}=1",
        "Max-Age=3600",
        "Path=/r/",
        "HttpOnly",
        "SameSite=Lax",
        "Secure",
    ]
    returned = [window.split(";", 1)[0], "_ga=GA1.1.1"]
    repeat = request(code, cookies=returned)
    track_click.landing_targets.clear()
    warm_repeats = [request(code, cookies=returned) for _ in range(2)]
    another_code = request(other, cookies=returned)  # another link's window says nothing about this one

    assert dynamodb_calls == ["UpdateItem"] * 5
    assert all(r["statusCode"] == 302 for r in [repeat, *warm_repeats, another_code])
    assert repeat["headers"]["Location"] == LANDING + code
    assert repeat["cookies"] == [ref_cookie]  # the window is not extended by a repeat
    assert len(another_code["cookies"]) == 2
    lines = metric_lines(capsys.readouterr().out)
    assert [line.get("RepeatClicks") for line in lines] == [None, 1, 1, 1, None]
    assert counts(stack, campaign_id) == (1, 3)  # the participant item and its shards, summed


def test_the_repeat_cookie_is_not_secure_over_plain_http(stack: AwsStack) -> None:
    code = enrol(create_campaign()["id"])["code"]
    event = http_event("track_click/get_referral_link", path=f"/r/{code}", path_parameters={"code": code})
    event["headers"]["x-forwarded-proto"] = "http"

    _, window = track_click.handler(event, LambdaContext())["cookies"]

    assert "Secure" not in window
    assert "SameSite=Lax" in window


def test_an_unknown_code_goes_to_the_configured_fallback_whatever_the_request_says(
    stack: AwsStack, dynamodb_calls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLICK_FALLBACK_URL", "https://shop.example.com/referrals")
    get_settings.cache_clear()
    try:
        event = http_event(
            "track_click/get_referral_link",
            path_parameters={"code": "zzzzzzzzzzzz"},
            query={"next": "https://evil.example.net/"},
            headers={"referer": "https://evil.example.net/", "host": "evil.example.net"},
        )
        response = track_click.handler(event, LambdaContext())
    finally:
        monkeypatch.delenv("CLICK_FALLBACK_URL")
        get_settings.cache_clear()

    assert (response["statusCode"], response["headers"]["Location"]) == (
        302,
        "https://shop.example.com/referrals",
    )
    assert dynamodb_calls == ["UpdateItem"]


def test_the_engines_own_fallback_page_is_static_html(stack: AwsStack, dynamodb_calls: list[str]) -> None:
    event = http_event("track_click/get_referral_link", path="/r")
    event.pop("pathParameters")
    event["routeKey"] = event["requestContext"]["routeKey"] = "GET /r"

    page = track_click.handler(event, LambdaContext())

    assert page["statusCode"] == 200
    assert page["headers"]["Content-Type"] == "text/html; charset=utf-8"
    assert page["headers"]["Content-Security-Policy"].startswith("default-src 'none'")
    assert "<h1>This referral link is not valid</h1>" in page["body"]
    assert "<script" not in page["body"]
    assert dynamodb_calls == []
