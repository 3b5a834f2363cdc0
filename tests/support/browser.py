"""The browser tier's Chromium (ADR 0022): Debian's `chromium` package driven by Playwright, never a
browser Playwright downloads; where it is found, how it is started, where screenshots go."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from support.fixture_shop import SHOP_HOST

if TYPE_CHECKING:
    from playwright.sync_api import Page

# The executable to launch instead of the one found (tools/ensure_chromium.sh reads it too).
CHROMIUM_VARIABLE = "REFERRALS_CHROMIUM"
# Debian's /usr/bin/chromium is a shell wrapper adding the distribution's flags (extensions, API
# keys); the binary behind it takes Playwright's flags as they are.
DEBIAN_BINARY = Path("/usr/lib/chromium/chromium")
ARTIFACTS_VARIABLE = "REFERRALS_TEST_ARTIFACTS"
REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "test-artifacts"

# The shop's name resolves to loopback inside the browser; every other name fails to resolve, so
# nothing a page loads can leave the machine (addresses such as 127.0.0.1 are not looked up).
HOST_RULES = f"MAP {SHOP_HOST} 127.0.0.1, MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1"
LAUNCH_ARGS = [
    f"--host-resolver-rules={HOST_RULES}",
    "--no-proxy-server",
    # Containers often have a small /dev/shm; Chromium then crashes on shared memory.
    "--disable-dev-shm-usage",
]


def chromium_executable() -> tuple[Path | None, str]:
    """The Chromium to launch and, when there is none, why (the browser tests' skip reason)."""
    chosen = os.environ.get(CHROMIUM_VARIABLE)
    if chosen:
        found = shutil.which(chosen)
        if found is None:
            return None, f"{CHROMIUM_VARIABLE}={chosen} is not an executable"
        return Path(found), ""
    if os.access(DEBIAN_BINARY, os.X_OK):
        return DEBIAN_BINARY, ""
    for name in ("chromium", "chromium-browser"):
        if found := shutil.which(name):
            return Path(found), ""
    return None, (
        "no chromium found: `make chromium` installs Debian's package (as root, with apt-get), "
        f"or set {CHROMIUM_VARIABLE} to a Chromium executable"
    )


def artifacts_dir() -> Path:
    """Where the browser tests save their screenshots: test-artifacts/ (git-ignored) unless
    REFERRALS_TEST_ARTIFACTS names another folder."""
    return Path(os.environ.get(ARTIFACTS_VARIABLE) or ARTIFACTS)


def artifact_name(nodeid: str, label: str = "") -> str:
    """A file name for a test's artefact: browser/test_share_link.py::test_x[a] becomes
    test_share_link.test_x-a, and with a label test_share_link.test_x-a--label."""
    test = nodeid.rsplit("/", 1)[-1].replace(".py::", ".")
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", test).strip("-")
    return f"{name}--{label}" if label else name


class Screenshot(Protocol):
    """The `screenshot` fixture: saves the page as a test artefact and returns its path."""

    def __call__(self, page: Page, label: str = "") -> Path: ...
