"""A page on the business's origin cannot use the engine's server API: the API sends no CORS headers,
so Chromium lets a script neither read a response nor send a request that needs a preflight."""

from __future__ import annotations

import json
from typing import Any

import requests
from playwright.sync_api import Page

from support.browser import Screenshot
from support.fixture_shop import Shop
from support.local_stack import RunningStack
from support.polling import settled

# Runs in the page: what a script on the shop's origin gets back from fetch().
FETCH = """async ([url, init]) => {
    let seen;
    try {
        const response = await fetch(url, init);
        seen = `read ${response.status}: ${(await response.text()).slice(0, 40)}`;
    } catch (error) {
        seen = `${error.name}: ${error.message}`;
    }
    const shown = document.getElementById("seen");
    const lines = [shown.textContent, `${init.method || "GET"} ${url}`, `→ ${seen}`];
    shown.textContent = lines.filter(Boolean).join("\\n");
    return seen;
}"""
REFUSED = "TypeError: Failed to fetch"


def cors_errors(page: Page) -> list[str]:
    """The console errors Chromium logs for the page's blocked requests, as they come."""
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if "CORS policy" in message.text else None)
    return errors


def fetch_from(page: Page, url: str, **init: Any) -> str:
    seen: str = page.evaluate(FETCH, [url, init])
    return seen


def test_a_page_on_the_shop_cannot_read_a_server_route(
    local_stack: RunningStack, shop: Shop, page: Page, screenshot: Screenshot
) -> None:
    stack = local_stack
    url = f"{stack.api}/v1/openapi.json"
    served = requests.get(url, headers={"Origin": shop.origin}, timeout=10)
    assert served.status_code == 200  # answered: it is the browser that keeps it from the page
    assert "Access-Control-Allow-Origin" not in served.headers
    page.goto(shop.url("/welcome"))
    page.locator("#seen").evaluate("element => { element.textContent = '' }")
    errors = cors_errors(page)

    assert fetch_from(page, url) == REFUSED

    blocked = settled(lambda: list(errors), what="Chromium's CORS error")
    assert "No 'Access-Control-Allow-Origin' header is present" in blocked[0]
    assert f"from origin '{shop.origin}'" in blocked[0]
    screenshot(page)


def test_a_page_on_the_shop_cannot_send_a_keyed_request(
    local_stack: RunningStack, shop: Shop, page: Page, screenshot: Screenshot
) -> None:
    stack = local_stack
    campaign = stack.post(
        "/v1/campaigns",
        {
            "name": "Cross-origin refusal",
            "landing_url": shop.url("/welcome"),
            "reward": {"amount": "5.00", "currency": "USD"},
        },
    ).json()
    advocate = stack.post(f"/v1/campaigns/{campaign['id']}/advocates", {"email": "ada@example.com"}).json()
    sign_up = {"code": advocate["code"], "email": "grace@example.org"}
    referrals = f"/v1/campaigns/{campaign['id']}/referrals"
    page.goto(shop.url("/welcome"))
    page.locator("#seen").evaluate("element => { element.textContent = '' }")
    errors = cors_errors(page)

    # Even holding a server key, a script cannot send the request: its preflight is refused.
    seen = fetch_from(
        page,
        f"{stack.api}/v1/referrals",
        method="POST",
        headers={**stack.headers(), "Content-Type": "application/json"},
        body=json.dumps(sign_up),
    )

    assert seen == REFUSED
    blocked = settled(lambda: list(errors), what="Chromium's CORS error")
    assert "Response to preflight request doesn't pass access control check" in blocked[0]
    assert stack.get(referrals).json()["items"] == []
    # The same request from a server is accepted: the browser alone refused it.
    assert stack.post("/v1/referrals", sign_up).status_code == 201
    assert len(stack.get(referrals).json()["items"]) == 1
    screenshot(page)
