"""Disposable email domains: the maintained list of the `disposable-email-domains` package.

The list (about ten thousand domains, a few hundred kilobytes of set) is imported on the first call,
so only the code path that checks a signup pays for it, never a function's cold start
(tests/unit/test_cold_imports.py). Updating it is `make lock UPGRADE=1`, like any dependency.
"""

from __future__ import annotations

from referral_engine.domain.emails import parent_domains


def is_disposable(domain: str) -> str | None:
    """The listed domain that makes `domain` (canonical, see `emails.canonical_domain`) disposable:
    itself or a domain above it (services hand out subdomains too); None when it is not listed."""
    from disposable_email_domains import blocklist

    return next((listed for listed in parent_domains(domain) if listed in blocklist), None)
