"""IP addresses from outside: which are public, whatever form (IPv4 in IPv6, a zone id) they take."""

from __future__ import annotations

import ipaddress

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def embedded_ipv4(ip: IpAddress) -> IpAddress:
    """The IPv4 address an IPv6 one stands for (mapped, 6to4, NAT64), else the address itself."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip.sixtofour is not None:
            return ip.sixtofour
        if ip in _NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def parse_ip(text: str) -> IpAddress | None:
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])  # an IPv6 zone id is no part of the address
    except ValueError:
        return None


def is_public(ip: IpAddress) -> bool:
    ip = embedded_ipv4(ip)
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)
