"""Building the redirect target of a referral link. The target is always the campaign's own landing
URL: nothing from the request other than the (validated) code ends up in it."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from referral_engine.domain.addresses import is_public, parse_ip

REF_PARAMETER = "ref"


def landing_with_ref(landing_url: str, code: str) -> str:
    parts = urlsplit(landing_url)
    query = [
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if name != REF_PARAMETER
    ]
    query.append((REF_PARAMETER, code))
    return urlunsplit(parts._replace(query=urlencode(query)))


_PRIVATE_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa", ".test", ".invalid")


def check_public_url(url: str) -> None:
    """A landing URL a visitor's browser can reach: http(s), no credentials, and a public host (a
    fully qualified name or a public address, not localhost nor a private network's). ValueError
    names what is wrong."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower().rstrip(".")
    except ValueError:
        raise ValueError("not a valid URL") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError("the URL must use http or https")
    if parts.username is not None or parts.password is not None:
        raise ValueError("the URL must not carry credentials")
    address = parse_ip(host.strip("[]"))
    if address is not None:
        if not is_public(address):
            raise ValueError("the URL's host must be a public address")
        return
    if "." not in host or host == "localhost" or host.endswith(_PRIVATE_SUFFIXES):
        raise ValueError("the URL's host must be a public, fully qualified name")
