"""An email address as the person it reaches: the form the fraud checks compare (docs/adr/0018).

`canonical_email` is for matching only; the address a person typed is kept and used to write to them
(`identifiers.normalise_email`). Two spellings with the same canonical form reach the same mailbox:

- case: the domain is case-insensitive by the DNS; no mainstream provider keeps mailboxes apart by
  the case of their local part either, so both are lower-cased (Unicode-aware, NFC first);
- sub-addresses: everything from the first `+` of the local part is a tag the mailbox's owner chose
  (RFC 5233 and Gmail, Outlook, iCloud, Fastmail, Proton alike), dropped for every domain;
- Gmail ignores dots in the local part, and googlemail.com is the same mailbox as gmail.com;
- Proton ignores dots, hyphens and underscores (its support confirms it; its documentation does not
  say), and an account's name is the same at proton.me, protonmail.com, protonmail.ch and pm.me;
- an internationalised domain is written as IDNA 2008 A-labels (UTS 46 mapping, as browsers do), so
  `bücher.de`, `BÜCHER.de` and `xn--bcher-kva.de` are one domain; a trailing root dot is dropped.

Yahoo's `-keyword` disposable addresses are not folded: their base name is not the account's name.
"""

from __future__ import annotations

import unicodedata

# Providers that ignore some characters of the local part: each of their domains, the one it stands
# for, and the characters ignored.
_GMAIL = ("gmail.com", ".")
_PROTON = ("proton.me", ".-_")
_PROVIDERS = {
    "gmail.com": _GMAIL,
    "googlemail.com": _GMAIL,
    "proton.me": _PROTON,
    "protonmail.com": _PROTON,
    "protonmail.ch": _PROTON,
    "pm.me": _PROTON,
}
_SUBADDRESS = "+"


def canonical_email(address: str) -> str:
    """The canonical form of `address` (see the module's rules); raises ValueError without a local
    part and a domain."""
    local, at, domain = address.strip().rpartition("@")
    if not (at and local and domain):
        raise ValueError("not an email address")
    domain = canonical_domain(domain)
    local = unicodedata.normalize("NFC", local).lower()
    tagless = local.split(_SUBADDRESS, 1)[0]
    local = tagless or local  # "+tag@…" alone is a name, not a tag
    if domain in _PROVIDERS:
        domain, ignored = _PROVIDERS[domain]
        local = local.translate(dict.fromkeys(map(ord, ignored))) or local
    return f"{local}@{domain}"


def canonical_domain(domain: str) -> str:
    """A domain in lower-case ASCII (IDNA 2008 A-labels), without its trailing root dot.

    A domain IDNA refuses cannot receive mail; it is compared as lower-cased NFC text rather than
    refused here, since the checks that call this must not fail on what the edge let through."""
    domain = domain.strip().rstrip(".")
    if domain.isascii():
        return domain.lower()
    import idna  # only for internationalised domains: its tables cost a cold start milliseconds

    try:
        return idna.encode(domain, uts46=True, transitional=False).decode("ascii")
    except idna.IDNAError:
        return unicodedata.normalize("NFC", domain).lower()


def email_domain(canonical: str) -> str:
    """The domain of a canonical address."""
    return canonical.rpartition("@")[2]


def parent_domains(domain: str) -> list[str]:
    """`domain` and each domain above it with two labels or more: a.b.example.com, b.example.com,
    example.com (a list of domains matches its entries' subdomains too)."""
    labels = domain.split(".")
    return [".".join(labels[start:]) for start in range(max(len(labels) - 1, 1))]
