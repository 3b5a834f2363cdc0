"""Waiting for an asynchronous system to settle: poll what a user would look at, never sleep blindly."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def settled(
    read: Callable[[], T],
    until: Callable[[T], object] = bool,
    *,
    steady_for: float = 0.0,
    timeout: float = 20.0,
    interval: float = 0.1,
    what: str = "a settled state",
    context: Callable[[], str] | None = None,
) -> T:
    """Reads `read()` every `interval` seconds and returns the first value for which `until` holds and
    that has stayed equal for `steady_for` seconds (0: the first such value). At the deadline, fails
    with the last value seen and `context()` (e.g. the tail of a log).

    `steady_for` proves a negative, that nothing more happens: read a value that changes with every
    step of the system (e.g. the invocations logged so far), and the wait ends only once it stops.
    """
    deadline = time.monotonic() + timeout
    last: T | None = None
    steady_since: float | None = None
    while True:
        now = time.monotonic()
        value = read()
        if not until(value):
            steady_since = None
        elif steady_since is None or value != last:
            steady_since = now
        last = value
        if steady_since is not None and now - steady_since >= steady_for:
            return value
        if now >= deadline:
            detail = f"\n{context()}" if context is not None else ""
            raise AssertionError(
                f"timed out after {timeout:g} s waiting for {what}; last seen: {last!r}{detail}"
            )
        time.sleep(interval)
