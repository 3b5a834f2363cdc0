"""What the click tests watch: the DynamoDB calls track_click makes, from a cold container."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def cold_container_calls() -> Iterator[list[str]]:
    """The operations track_click's client calls, in order, starting as a fresh container (no landing
    URL known yet) and leaving none known."""
    import track_click
    from referral_engine.adapters import aws

    calls: list[str] = []

    def count(event_name: str, **_: Any) -> None:
        calls.append(event_name.rsplit(".", 1)[-1])

    track_click.landing_targets.clear()
    client = aws.dynamodb_without_retries()
    client.meta.events.register("before-call.dynamodb", count)
    try:
        yield calls
    finally:
        client.meta.events.unregister("before-call.dynamodb", count)
        track_click.landing_targets.clear()
