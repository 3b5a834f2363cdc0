"""The JSON lines the shared Powertools logger writes, as a test reads them back."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from referral_engine.observability import logger

Logs = Callable[[], list[dict[str, Any]]]


@contextmanager
def captured_logs() -> Iterator[Logs]:
    """The lines written since the block began, each read as a dict."""
    handler = logger.registered_handler
    buffer = io.StringIO()
    previous = handler.setStream(buffer)  # type: ignore[attr-defined]
    try:
        yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    finally:
        handler.setStream(previous)  # type: ignore[attr-defined]
