"""The browser tier: journeys in a real, headless Chromium (Debian's package, driven by Playwright;
ADR 0022) across two origins: the engine's local stack and a fixture shop. Skipped, with the reason,
where no Chromium is installed."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from support.browser import LAUNCH_ARGS, Screenshot, artifact_name, artifacts_dir, chromium_executable
from support.fixture_shop import Shop, serving_shop
from support.local_stack import RunningStack
from support.stack_fixtures import stack_for_tests

# Long enough for a page on loopback; a failing wait reports within the test's timeout.
PAGE_TIMEOUT_MS = 10_000
_failed = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call" and report.failed:
        item.stash[_failed] = True
    return report


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Without a Chromium, every browser test is skipped with the reason, before any fixture (the
    local stack) starts."""
    executable, missing = chromium_executable()
    if executable is None:
        pytest.skip(missing)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    executable, _ = chromium_executable()
    assert executable is not None  # pytest_runtest_setup skipped the test otherwise
    with sync_playwright() as playwright:
        # chromium_sandbox=False: Chromium's sandbox cannot start as root, as CI runs.
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, chromium_sandbox=False, args=LAUNCH_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """One stack for the whole tier (per xdist worker): every journey makes its own campaign and
    only adds to what is there."""
    yield from stack_for_tests(tmp_path_factory, "stack")


@pytest.fixture(scope="session")
def shop() -> Iterator[Shop]:
    with serving_shop() as serving:
        yield serving


@pytest.fixture
def context(chromium: Browser) -> Iterator[BrowserContext]:
    """A fresh profile per test: no cookies or storage carried from another test. It shows the user
    agent a person's Chromium sends: a headless one is on the bots list, and its clicks would not count
    (docs/adr/0023)."""
    person = (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        f"Chrome/{chromium.version} Safari/537.36"
    )
    made = chromium.new_context(viewport={"width": 1024, "height": 720}, user_agent=person)
    made.set_default_timeout(PAGE_TIMEOUT_MS)
    yield made
    made.close()


@pytest.fixture
def screenshot(request: pytest.FixtureRequest) -> Screenshot:
    """`screenshot(page, label="")` saves the page as test-artifacts/<module>.<test>[--label].png."""

    name = artifact_name(request.node.nodeid)
    for stale in [*artifacts_dir().glob(f"{name}.png"), *artifacts_dir().glob(f"{name}--*.png")]:
        stale.unlink()  # this test's screenshots from an earlier run

    def save(page: Page, label: str = "") -> Path:
        path = artifacts_dir() / f"{artifact_name(request.node.nodeid, label)}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=path, full_page=True)
        return path

    return save


@pytest.fixture
def page(context: BrowserContext, screenshot: Screenshot, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A page in the test's own profile; a failing test leaves its last view as <name>--failed.png."""
    opened = context.new_page()
    yield opened
    if request.node.stash.get(_failed, False) and not opened.is_closed():
        screenshot(opened, "failed")
