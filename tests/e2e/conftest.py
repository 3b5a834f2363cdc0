"""The e2e tier: the local stack as a user runs it, driven over HTTP and the CLI."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.local_stack import CHAOS, RunningStack, start_stack


@pytest.fixture(scope="module")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    running = start_stack(tmp_path_factory.mktemp("stack"))
    yield running
    if running.process.poll() is None:
        running.stop()


@pytest.fixture(scope="module")
def chaos_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """The local stack with chaos mode on (the spec: CHAOS; fixed seed, so a failure can be rerun)."""
    running = start_stack(tmp_path_factory.mktemp("chaos"), "--chaos", CHAOS, "--chaos-seed", "9")
    yield running
    if running.process.poll() is None:
        running.stop()
