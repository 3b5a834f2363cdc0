"""POSTing delivery payloads with the standard library (no `requests` in the layer).

The connection goes to the address the target was vetted with (`Target.address`), not to a second
DNS answer, so a host cannot pass the check with a public address and then be reached on a private
one (DNS rebinding). TLS still verifies the certificate against the host name (SNI and hostname
check), and the Host header names the host. Redirects are never followed: http.client does not.
"""

from __future__ import annotations

import http.client
import socket
import ssl
from collections.abc import Mapping, Sequence

from referral_engine.domain.subscriptions import Target
from referral_engine.ports import DeliveryFailed

TIMEOUT_SECONDS = 5.0
_DRAIN_BYTES = 64 * 1024


def resolve(host: str, port: int) -> Sequence[str]:
    """Every address `host` resolves to (raises OSError when it does not)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float, context: ssl.SSLContext) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self._address = address
        self._tls = context

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        try:
            self.sock = self._tls.wrap_socket(raw, server_hostname=self.host)
        except BaseException:
            raw.close()
            raise


class HttpDeliverySender:
    def __init__(self, timeout: float = TIMEOUT_SECONDS, context: ssl.SSLContext | None = None) -> None:
        self._timeout = timeout
        self._context = context or ssl.create_default_context()

    def post(self, target: Target, body: bytes, headers: Mapping[str, str]) -> int:
        connection: http.client.HTTPConnection
        if target.scheme == "https":
            connection = _PinnedHTTPSConnection(
                target.host, target.port, target.address, self._timeout, self._context
            )
        else:
            connection = _PinnedHTTPConnection(target.host, target.port, target.address, self._timeout)
        try:
            connection.request("POST", target.path, body=body, headers=dict(headers))
            response = connection.getresponse()
            response.read(_DRAIN_BYTES)  # unused; read a little so the peer is not cut off mid-answer
            return response.status
        except (OSError, http.client.HTTPException) as error:
            raise DeliveryFailed(f"{error.__class__.__name__}: {error}") from error
        finally:
            connection.close()
