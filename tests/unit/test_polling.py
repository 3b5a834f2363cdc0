"""The e2e tier's one way to wait: poll until settled, fail with what was last seen."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from support.polling import settled


def reads(*values: int) -> Callable[[], int]:
    """Each call returns the next value; the last one repeats."""
    remaining = iter(values)
    return lambda: next(remaining, values[-1])


def test_the_first_value_that_holds_is_returned() -> None:
    assert settled(reads(0, 0, 3, 4), lambda n: n > 2, interval=0.001) == 3


def test_a_steady_value_is_returned_only_once_it_stopped_changing() -> None:
    started = time.monotonic()
    assert settled(reads(1, 2, 3, 4, 5), steady_for=0.05, interval=0.01) == 5
    assert time.monotonic() - started >= 0.05 + 4 * 0.01


def test_the_deadline_fails_with_the_last_value_and_the_context() -> None:
    with pytest.raises(AssertionError, match=r"waiting for the reward; last seen: 'pending'\nrunner log"):
        settled(
            lambda: "pending",
            lambda status: status == "rewarded",
            timeout=0.05,
            interval=0.01,
            what="the reward",
            context=lambda: "runner log",
        )
