"""The e2e tier: the local stack as a user runs it, driven over HTTP and the CLI."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.local_stack import RunningStack, start_stack


@pytest.fixture(scope="module")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    running = start_stack(tmp_path_factory.mktemp("stack"))
    yield running
    if running.process.poll() is None:
        running.stop()


# Faults in every service the engine calls, at rates its retries should absorb (ADR 0016); the chaos
# tests raise them further where a test needs an outage.
CHAOS = (
    "dynamodb=throttle@0.08,dynamodb=500@0.03,dynamodb=timeout:300ms@0.02,dynamodb=timeout-after:300ms@0.02,"
    "sqs=throttle@0.08,sqs=500@0.03,events=throttle@0.1,events=500@0.03,events=timeout:300ms@0.02,"
    "ssm=throttle@0.1,*=latency:30ms@0.2"
)


@pytest.fixture(scope="module")
def chaos_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """The local stack with chaos mode on (the spec: CHAOS; fixed seed, so a failure can be rerun)."""
    running = start_stack(tmp_path_factory.mktemp("chaos"), "--chaos", CHAOS, "--chaos-seed", "9")
    yield running
    if running.process.poll() is None:
        running.stop()
