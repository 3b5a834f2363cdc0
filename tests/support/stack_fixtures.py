"""The local stack for a fixture, shared by the tiers that drive it from outside (e2e, browser)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.local_stack import RunningStack, start_stack


def stack_for_tests(factory: pytest.TempPathFactory, name: str, *extra: str) -> Iterator[RunningStack]:
    """A local stack in a fresh folder (`extra`: the runner's options), stopped when the fixture ends."""
    running = start_stack(factory.mktemp(name), *extra)
    yield running
    if running.process.poll() is None:
        running.stop()
