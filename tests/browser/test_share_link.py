"""A friend follows an advocate's share link in a real browser: GET /r/{code} on the engine redirects
to the campaign's landing page on the business's own origin, carrying the code, and counts the click."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import Page

from support.browser import Screenshot
from support.fixture_shop import Shop
from support.local_stack import RunningStack


def campaign_landing_on(stack: RunningStack, shop: Shop, name: str) -> dict[str, Any]:
    body = {
        "name": name,
        "landing_url": shop.url("/welcome?utm_source=referral"),
        "reward": {"amount": "20.00", "currency": "USD", "friend_amount": "10.00"},
    }
    campaign = stack.post("/v1/campaigns", body)
    assert campaign.status_code == 201, campaign.text
    shown: dict[str, Any] = campaign.json()
    return shown


def clicks_of(stack: RunningStack, campaign_id: str, email: str) -> int:
    """The participant view's click count (enrolling again is idempotent and shows it)."""
    return int(stack.post(f"/v1/campaigns/{campaign_id}/advocates", {"email": email}).json()["clicks"])


def test_a_share_link_lands_on_the_shop_with_the_code_and_counts_the_click(
    local_stack: RunningStack, shop: Shop, page: Page, screenshot: Screenshot
) -> None:
    stack = local_stack
    campaign = campaign_landing_on(stack, shop, "Share link in Chromium")
    advocate = stack.post(f"/v1/campaigns/{campaign['id']}/advocates", {"email": "ada@example.com"}).json()
    assert advocate["share_url"].startswith(f"{stack.api}/r/")

    landed = page.goto(advocate["share_url"])

    assert landed is not None
    assert landed.status == 200
    redirect = landed.request.redirected_from
    assert redirect is not None
    assert redirect.url == advocate["share_url"]
    assert urlsplit(page.url)._replace(query="").geturl() == shop.url("/welcome")
    assert parse_qs(urlsplit(page.url).query) == {"utm_source": ["referral"], "ref": [advocate["code"]]}
    assert page.get_by_role("heading", name="Welcome").is_visible()
    assert page.locator("#address").text_content() == page.url
    assert shop.requested("/welcome")[-1] == f"utm_source=referral&ref={advocate['code']}"
    stack.wait_for(
        lambda: clicks_of(stack, campaign["id"], "ada@example.com"),
        lambda clicks: clicks == 1,
        what="the click to be counted",
    )
    # The engine's cookie stays on the engine's host: the shop's page cannot read it (the snippet's
    # first-party cookie on the shop's origin is what will carry the code there).
    engine_cookies = {c["name"]: c for c in page.context.cookies(stack.api)}
    assert engine_cookies["ref"]["value"] == advocate["code"]
    assert engine_cookies["ref"]["httpOnly"]
    assert page.context.cookies(shop.origin) == []
    assert page.evaluate("document.cookie") == ""
    screenshot(page)
