"""Keyed fingerprints of a visitor's network and browser: evidence for the fraud checks, never the
raw values (docs/adr/0018).

A fingerprint is HMAC-SHA256 under a per-deployment secret, so it links two visits of one deployment
and nothing else: without the secret, the 2**32 IPv4 addresses cannot be hashed one by one to find
which one it was, as a plain SHA-256 of an address can.

- An IP address is keyed by the network a person holds: an IPv4 address whole; an IPv6 address by
  its /64, the prefix one subscriber line gets (RFC 6177), inside which the device picks and rotates
  its own address (RFC 8981). An IPv4 address written as IPv6 (mapped, 6to4, NAT64) is keyed as the
  IPv4 address. A private, loopback or reserved address says nothing about the visitor (it is the
  business's own proxy or network) and would link every visitor behind it: it has no fingerprint.
- A user agent is keyed as sent, its runs of whitespace made one space.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from typing import NoReturn

from referral_engine.domain.addresses import embedded_ipv4, is_public, parse_ip

MIN_SECRET_BYTES = 32
# How long a visit's fingerprints are kept as evidence: a day's velocity, and long enough for a
# friend's signup to meet the advocate's own earlier click (docs/adr/0018).
EVIDENCE_TTL_DAYS = 90
IPV6_PREFIX = 64
_DIGEST_CHARS = 32  # 128 bits: no two fingerprints collide by chance in any deployment's lifetime
MAX_USER_AGENT = 1024


class FingerprintKey:
    """The per-deployment secret the fingerprints are keyed with. It never prints, pickles or
    serialises: `repr` and `str` hide it, and no record has a field of this type."""

    __slots__ = ("_secret",)

    def __init__(self, secret: bytes) -> None:
        if len(secret) < MIN_SECRET_BYTES:
            raise ValueError(f"a fingerprint secret has at least {MIN_SECRET_BYTES} bytes")
        self._secret = secret

    @classmethod
    def from_text(cls, secret: str) -> FingerprintKey:
        """A secret as the settings hold it (for instance `secrets.token_urlsafe(32)`)."""
        return cls(secret.encode())

    def __repr__(self) -> str:
        return "FingerprintKey(<hidden>)"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("a FingerprintKey is not serialised")

    def digest(self, purpose: str, value: bytes) -> str:
        """`purpose`_ and 32 hex characters of HMAC-SHA256(secret, purpose NUL value)."""
        mac = hmac.new(self._secret, purpose.encode() + b"\0" + value, hashlib.sha256)
        return f"{purpose}_{mac.hexdigest()[:_DIGEST_CHARS]}"


def network_of(text: str) -> bytes | None:
    """The network an address from outside stands for (see the module), packed; None when `text` is
    not an address, or not a public one. Takes `[v6]`, `[v6]:port` and `v4:port` as proxies write them."""
    text = text.strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    parsed = parse_ip(text)
    if parsed is None or not is_public(parsed):
        return None
    ip = embedded_ipv4(parsed)
    if isinstance(ip, ipaddress.IPv6Address):
        return ipaddress.IPv6Network((ip, IPV6_PREFIX), strict=False).network_address.packed[
            : IPV6_PREFIX // 8
        ]
    return ip.packed


def ip_fingerprint(key: FingerprintKey, address: str) -> str | None:
    """`ip_…`, the fingerprint of the network `address` stands for; None as for `network_of`."""
    network = network_of(address)
    return None if network is None else key.digest("ip", network)


def user_agent_fingerprint(key: FingerprintKey, user_agent: str) -> str | None:
    """`ua_…`, the fingerprint of a User-Agent header; None when it is blank."""
    text = " ".join(user_agent.split())[:MAX_USER_AGENT]
    return key.digest("ua", text.encode()) if text else None
