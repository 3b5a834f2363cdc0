"""Building the redirect target of a referral link. The target is always the campaign's own landing
URL: nothing from the request other than the (validated) code ends up in it."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

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
