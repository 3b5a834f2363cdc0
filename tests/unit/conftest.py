"""Unit tier: the domain and services against in-memory fakes; no AWS, no network."""

from __future__ import annotations

import socket
from typing import Any, NoReturn

import pytest

from support.fakes import InMemoryBackend, World


class NetworkBlocked(RuntimeError):
    pass


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """A unit test that opens a connection fails instead of reaching out."""

    def refuse(*_args: Any, **_kwargs: Any) -> NoReturn:
        raise NetworkBlocked("unit tests must not use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.fixture
def backend() -> InMemoryBackend:
    return InMemoryBackend()


@pytest.fixture
def world(backend: InMemoryBackend) -> World:
    return World(backend)
