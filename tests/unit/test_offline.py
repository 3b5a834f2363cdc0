"""The unit tier runs offline: its conftest refuses every connection."""

from __future__ import annotations

import socket

import pytest


def test_unit_tests_cannot_reach_the_network() -> None:
    with pytest.raises(RuntimeError, match="network"):
        socket.create_connection(("example.com", 443), timeout=1)
    with socket.socket() as raw, pytest.raises(RuntimeError, match="network"):
        raw.connect(("127.0.0.1", 9))
