"""Keyed fingerprints of a visitor's network and browser: linkable within a deployment, nothing more."""

from __future__ import annotations

import hashlib
import pickle

import msgspec
import pytest

from referral_engine.domain.fingerprints import (
    FingerprintKey,
    ip_fingerprint,
    user_agent_fingerprint,
)

SECRET = "k" * 32
KEY = FingerprintKey.from_text(SECRET)
OTHER_DEPLOYMENT = FingerprintKey.from_text("o" * 32)
CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"


def test_the_same_address_has_the_same_fingerprint_and_another_deployment_another() -> None:
    here = ip_fingerprint(KEY, "81.2.69.160")

    assert here == ip_fingerprint(KEY, "81.2.69.160")
    assert here is not None
    assert here.startswith("ip_")
    assert len(here) == 3 + 32
    assert here != ip_fingerprint(KEY, "81.2.69.161")
    assert here != ip_fingerprint(OTHER_DEPLOYMENT, "81.2.69.160")


def test_a_fingerprint_is_not_a_plain_hash_of_the_address() -> None:
    address = "81.2.69.160"
    fingerprint = ip_fingerprint(KEY, address)
    assert fingerprint is not None
    digest = fingerprint.removeprefix("ip_")

    for unkeyed in (address.encode(), bytes([81, 2, 69, 160])):
        assert hashlib.sha256(unkeyed).hexdigest()[:32] != digest
    assert address not in fingerprint


@pytest.mark.parametrize(
    "spelling",
    [
        "2a00:1450:85a3:1:aaaa:bbbb:cccc:dddd",  # another device, or a privacy address, in the same /64
        "2A00:1450:85A3:0001:0000:0000:0000:0001",
        "[2a00:1450:85a3:1::7]",
        "[2a00:1450:85a3:1::7]:443",
        "2a00:1450:85a3:1::7%eth0",
    ],
)
def test_an_ipv6_visitor_is_keyed_by_their_64(spelling: str) -> None:
    assert ip_fingerprint(KEY, spelling) == ip_fingerprint(KEY, "2a00:1450:85a3:1::1")


def test_another_64_is_another_network() -> None:
    assert ip_fingerprint(KEY, "2a00:1450:85a3:1::1") != ip_fingerprint(KEY, "2a00:1450:85a3:2::1")


@pytest.mark.parametrize(
    "spelling",
    [
        "81.2.69.160",
        " 81.2.69.160 ",
        "81.2.69.160:51234",
        "::ffff:81.2.69.160",  # IPv4-mapped
        "2002:5102:45a0::1",  # 6to4
        "64:ff9b::5102:45a0",  # NAT64
    ],
)
def test_an_ipv4_address_in_any_form_is_one_network(spelling: str) -> None:
    assert ip_fingerprint(KEY, spelling) == ip_fingerprint(KEY, "81.2.69.160")


@pytest.mark.parametrize(
    "address",
    [
        "10.1.2.3",
        "192.168.0.10",
        "127.0.0.1",
        "::1",
        "fe80::1",
        "fd00::1",
        "0.0.0.0",  # noqa: S104 - an address to refuse, not one to bind
        "100.64.0.1",
        "2001:db8::1",
        "nope",
        "",
    ],
)
def test_private_reserved_and_malformed_addresses_have_no_fingerprint(address: str) -> None:
    assert ip_fingerprint(KEY, address) is None


def test_a_user_agent_is_keyed_as_sent_with_its_whitespace_made_one_space() -> None:
    fingerprint = user_agent_fingerprint(KEY, CHROME)

    assert fingerprint is not None
    assert fingerprint.startswith("ua_")
    assert user_agent_fingerprint(KEY, f"  {CHROME.replace(' ', '   ')}\n") == fingerprint
    assert user_agent_fingerprint(KEY, CHROME.replace("131.0", "132.0")) != fingerprint
    assert user_agent_fingerprint(KEY, " \t") is None


def test_the_secret_never_prints_pickles_nor_serialises() -> None:
    assert SECRET not in repr(KEY)
    assert SECRET not in str(KEY)
    assert SECRET not in f"{KEY} {KEY!r}"
    with pytest.raises(TypeError):
        pickle.dumps(KEY)
    with pytest.raises(TypeError):
        msgspec.json.encode(KEY)
    assert not hasattr(KEY, "__dict__")


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        FingerprintKey(b"short")
