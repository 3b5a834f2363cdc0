"""Which clicks count (docs/adr/0023): a `HEAD` or a known bot is redirected but not counted; a repeat
by the same browser within REPEAT_WINDOW_SECONDS is counted apart, told by a short-lived first-party
cookie on the engine's host (`rc_<code>`), so telling it costs no read.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from referral_engine.domain.bots import is_known_bot

REPEAT_WINDOW_SECONDS = 3600
REPEAT_COOKIE_PATH = "/r/"


class NotCounted(Enum):
    """Why a served redirect was not counted: the `reason` of the `ClicksNotCounted` metric."""

    HEAD = "head"
    BOT = "bot"


@dataclass(frozen=True)
class ClickKind:
    not_counted: NotCounted | None = None
    repeat: bool = False

    @property
    def opens_window(self) -> bool:
        """A first click, counted: its repeat window starts (the repeat cookie is set)."""
        return self.not_counted is None and not self.repeat


def repeat_cookie_name(code: str) -> str:
    return f"rc_{code}"


def classify(method: str, user_agent: str, cookies: Iterable[str], code: str) -> ClickKind:
    """How one request on /r/{code} is counted: `cookies` as the request's `name=value` pairs."""
    if method.upper() == "HEAD":
        return ClickKind(NotCounted.HEAD)
    if is_known_bot(user_agent):
        return ClickKind(NotCounted.BOT)
    prefix = f"{repeat_cookie_name(code)}="
    return ClickKind(repeat=any(cookie.strip().startswith(prefix) for cookie in cookies))


def repeat_cookie(code: str, *, secure: bool) -> str:
    """Set on a counted first click, never refreshed by a repeat: the window runs from the first."""
    flags = f"Max-Age={REPEAT_WINDOW_SECONDS}; Path={REPEAT_COOKIE_PATH}; HttpOnly; SameSite=Lax"
    return f"{repeat_cookie_name(code)}=1; {flags}{'; Secure' if secure else ''}"
