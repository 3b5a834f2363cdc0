"""The e2e tier: the local stack as a user runs it, driven over HTTP and the CLI."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.local_stack import CHAOS, RunningStack
from support.stack_fixtures import stack_for_tests


@pytest.fixture(scope="module")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    yield from stack_for_tests(tmp_path_factory, "stack")


@pytest.fixture(scope="module")
def chaos_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """The local stack with chaos mode on (the spec: CHAOS; fixed seed, so a failure can be rerun)."""
    yield from stack_for_tests(tmp_path_factory, "chaos", "--chaos", CHAOS, "--chaos-seed", "9")
