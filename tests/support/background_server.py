"""A test's HTTP server, answering on a thread for as long as a context lasts."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import ThreadingHTTPServer


@contextmanager
def in_background(server: ThreadingHTTPServer) -> Iterator[int]:
    """Serves until the context ends, then closes the server; yields its port."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
