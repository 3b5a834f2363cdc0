"""A business's website for the browser tier: a second origin, apart from the engine's.

The shop is served on its own loopback port and reached by the browser under a public-looking name
(SHOP_HOST, resolved to 127.0.0.1 by Chromium itself: support/browser.py), so that a campaign can
name it as its landing URL and the browser treats it as another site than the engine's 127.0.0.1.

Tests depend on the `Shop` protocol only: a shop the local stack serves itself can replace this one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from support.background_server import in_background

SHOP_HOST = "shop.example.com"
PAGES = Path(__file__).resolve().parents[1] / "browser" / "shop"


class Shop(Protocol):
    @property
    def origin(self) -> str:
        """The shop's origin as the browser sees it, e.g. http://shop.example.com:8123."""

    def url(self, path: str) -> str:
        """An absolute URL on the shop."""

    def requested(self, path: str) -> list[str]:
        """The query strings of the requests for `path` the shop answered so far, in order."""


@dataclass
class FixtureShop:
    """Static pages from tests/browser/shop/ (`/welcome` serves welcome.html); every request kept."""

    port: int = 0
    requests: list[str] = field(default_factory=list)  # path?query, in order

    @property
    def origin(self) -> str:
        return f"http://{SHOP_HOST}:{self.port}"

    def url(self, path: str) -> str:
        return f"{self.origin}{path}"

    def requested(self, path: str) -> list[str]:
        return [urlsplit(seen).query for seen in list(self.requests) if urlsplit(seen).path == path]


def _handler(shop: FixtureShop) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

        def do_GET(self) -> None:
            shop.requests.append(self.path)
            name = urlsplit(self.path).path.strip("/")
            page = PAGES / f"{name}.html"
            found = name.isidentifier() and page.is_file()
            body = page.read_bytes() if found else b"not found\n"
            self.send_response(200 if found else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8" if found else "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

    return Handler


@contextmanager
def serving_shop() -> Iterator[FixtureShop]:
    """The fixture shop on a free loopback port, for as long as the context lasts."""
    shop = FixtureShop()
    with in_background(ThreadingHTTPServer(("127.0.0.1", 0), _handler(shop))) as port:
        shop.port = port
        yield shop
