"""Which target URLs a subscription may name and delivered to: https to public addresses only, so
that an API key cannot make our functions call into a private network or the Lambda sandbox (SSRF)."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from referral_engine.domain.subscriptions import Target, TargetPolicy, TargetRefused, is_loopback_base

DNS = {
    "hooks.zapier.com": ["54.86.9.50", "2600:1f18:4a3:6900::1"],
    "hook.eu1.make.com": ["3.124.120.45"],
    "localhost": ["127.0.0.1", "::1"],
    "internal.example.com": ["10.1.2.3"],
    "split.example.com": ["54.86.9.50", "192.168.1.10"],  # one public, one private answer
    "metadata.example.com": ["169.254.169.254"],
    "0x7f.0.0.1": ["127.0.0.1"],  # 127.0.0.1 in hexadecimal, as getaddrinfo reads it
    "rebind.example.com": ["54.86.9.51"],
}


def resolve(host: str, port: int) -> Sequence[str]:
    if host in DNS:
        return DNS[host]
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        raise OSError(f"no such host {host}") from None


def policy(*, allow_loopback: bool = False) -> TargetPolicy:
    return TargetPolicy(resolve, allow_loopback=allow_loopback)


def test_a_zapier_hook_url_is_accepted_with_the_address_to_connect_to() -> None:
    target = policy().vet("https://hooks.zapier.com/hooks/standard/123/abc/?x=1")

    assert target == Target(
        scheme="https",
        host="hooks.zapier.com",
        port=443,
        path="/hooks/standard/123/abc/?x=1",
        address="54.86.9.50",
    )


def test_an_explicit_port_and_an_empty_path() -> None:
    target = policy().vet("https://hook.eu1.make.com:8443")
    assert (target.port, target.path, target.address) == (8443, "/", "3.124.120.45")


def test_a_public_ip_literal_over_https_is_accepted() -> None:
    assert policy().vet("https://[2600:1f18:4a3:6900::1]/hook").address == "2600:1f18:4a3:6900::1"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://hooks.zapier.com/hooks/standard/1/a/", "https"),
        ("ftp://hooks.zapier.com/x", "https"),
        ("javascript:alert(1)", "https"),
        ("https://", "no host"),
        ("https://user:secret@hooks.zapier.com/x", "credentials"),
        ("https://hooks.zapier.com/x#frag", "fragment"),
        ("https://hooks.zapier.com/" + "a" * 2100, "longer"),
        ("https://hooks.zapier.com/a b", "whitespace"),
        ("https://hooks.zapier.com/a\nb", "whitespace"),
        ("https://hooks.zapier.com/caf\u00e9", "ASCII"),
        ("https://b\u00fccher.example/hook", "ASCII"),
        ("https://hooks.zapier.com:99999/x", "not a valid URL"),
        ("https://intranet/hook", "fully qualified"),
        ("https://nowhere.example.com/hook", "does not resolve"),
        ("https://internal.example.com/hook", "public address"),
        ("https://split.example.com/hook", "public address"),
        ("https://metadata.example.com/latest", "public address"),
        ("https://localhost/hook", "public address"),
        ("https://0x7f.0.0.1/hook", "public address"),
        ("https://2130706433/hook", "fully qualified"),  # 127.0.0.1 as one decimal number
    ],
)
def test_refused_target_urls_name_the_reason(url: str, reason: str) -> None:
    with pytest.raises(TargetRefused, match=reason) as refused:
        policy().vet(url)
    assert refused.value.code == "target_url_refused"


@pytest.mark.parametrize(
    "address",
    [
        "10.0.0.1",
        "172.16.5.4",
        "192.168.0.1",
        "127.0.0.1",
        "127.8.9.10",
        "0.0.0.0",  # noqa: S104 - an address we refuse, not one we bind
        "169.254.169.254",  # the instance metadata service
        "100.64.0.1",  # carrier-grade NAT
        "224.0.0.251",  # multicast
        "240.0.0.1",  # reserved
        "255.255.255.255",
        "::1",
        "::",
        "fc00::1",
        "fe80::1",
        "::ffff:10.0.0.1",  # IPv4-mapped
        "::ffff:127.0.0.1",
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "2002:c0a8:0101::1",  # 6to4 of 192.168.1.1
        "ff02::1",
    ],
)
def test_private_loopback_and_special_addresses_are_refused(address: str) -> None:
    host = f"[{address}]" if ":" in address else address
    with pytest.raises(TargetRefused):
        policy().vet(f"https://{host}/hook")


def test_loopback_is_for_the_local_stack_only() -> None:
    local = policy(allow_loopback=True)

    assert local.vet("http://127.0.0.1:8080/hook").address == "127.0.0.1"
    assert local.vet("http://localhost:8080/hook").address == "127.0.0.1"
    assert local.vet("https://hooks.zapier.com/x").address == "54.86.9.50"
    for url in ("http://10.0.0.1/hook", "http://hooks.zapier.com/x", "https://split.example.com/h"):
        with pytest.raises(TargetRefused):
            local.vet(url)


def test_the_local_stack_is_recognised_by_its_own_base_url() -> None:
    assert is_loopback_base("http://127.0.0.1:3000")
    assert is_loopback_base("http://localhost:3000/")
    assert is_loopback_base("http://[::1]:3000")
    assert not is_loopback_base("")
    assert not is_loopback_base("https://refer.example.com")
    assert not is_loopback_base("https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com")


PRIVATE_NETWORKS = [
    ipaddress.ip_network(n)
    for n in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "100.64.0.0/10",
    )
]


@given(network=st.sampled_from(PRIVATE_NETWORKS), offset=st.integers(min_value=0), mapped=st.booleans())
def test_no_address_of_a_private_network_is_ever_accepted(
    network: ipaddress.IPv4Network, offset: int, mapped: bool
) -> None:
    address = network[offset % network.num_addresses]
    text = f"[::ffff:{address}]" if mapped else str(address)
    with pytest.raises(TargetRefused):
        policy().vet(f"https://{text}/hook")
    if not address.is_loopback:  # allowing loopback allows nothing else
        with pytest.raises(TargetRefused):
            policy(allow_loopback=True).vet(f"https://{text}/hook")
