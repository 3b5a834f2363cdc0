"""The tier's browser never leaves the machine: only the shop's name resolves (to 127.0.0.1)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Error, Page

from support.fixture_shop import Shop


def test_only_the_shop_name_resolves(shop: Shop, page: Page) -> None:
    page.goto(shop.url("/welcome"))
    assert page.get_by_role("heading", name="Fixture Shop").is_visible()

    with pytest.raises(Error, match="ERR_NAME_NOT_RESOLVED"):
        page.goto("http://example.org/")
