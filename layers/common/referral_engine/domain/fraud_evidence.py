"""What the fraud checks look at (domain/fraud.py): a referral's evidence, gathered by the service.

Emails here are canonical (`emails.canonical_email`), network and browser are keyed fingerprints
(`fingerprints.py`): no raw IP address is ever part of the evidence.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from referral_engine.domain.emails import canonical_email
from referral_engine.domain.records import Record


class Device(Record):
    """One visit's network and browser, as fingerprints (`ip_…`, `ua_…`); either may be unknown."""

    ip: str | None = None
    user_agent: str | None = None

    @property
    def fingerprints(self) -> set[str]:
        return {print_ for print_ in (self.ip, self.user_agent) if print_ is not None}

    @property
    def is_known(self) -> bool:
        """Both halves known: only then does one device's match say "the same browser"."""
        return self.ip is not None and self.user_agent is not None


class Person(Record):
    """Who someone is, as the checks compare them: their canonical email, the ids the business knows
    them by, and the devices they were seen on (their click, their signup)."""

    email: str
    external_ids: dict[str, str] = msgspec.field(default_factory=dict)
    devices: tuple[Device, ...] = ()

    @classmethod
    def of(
        cls, email: str, external_ids: dict[str, str] | None = None, devices: tuple[Device, ...] = ()
    ) -> Person:
        """A person from the address they gave (any spelling)."""
        return cls(email=canonical_email(email), external_ids=dict(external_ids or {}), devices=devices)

    def shared_external_ids(self, other: Person) -> list[str]:
        """The names of the external ids both have with the same value."""
        return sorted(key for key, value in self.external_ids.items() if other.external_ids.get(key) == value)

    def same_as(self, other: Person) -> Literal["email", "external_id"] | None:
        """Whether `other` is this person by email first, else by an external id."""
        if self.email == other.email:
            return "email"
        return "external_id" if self.shared_external_ids(other) else None


class KnownPerson(Record):
    """Someone the campaign already has, found by the referral's canonical email or external ids: a
    person referred before (`id` their referral's id), an advocate or a customer (`id` their code)."""

    id: str
    role: Literal["referred", "advocate", "customer"]
    person: Person


class RecentCounts(Record):
    """How many came before this one, within the last hour and day: the advocate's referrals, and the
    signups from the referred person's network (its IP fingerprint)."""

    advocate_referrals_hour: int = 0
    advocate_referrals_day: int = 0
    network_signups_hour: int = 0
    network_signups_day: int = 0


class Blocklist(Record):
    """What the business refuses: email domains (their subdomains too), fingerprints, advocates' codes."""

    email_domains: frozenset[str] = frozenset()
    fingerprints: frozenset[str] = frozenset()
    codes: frozenset[str] = frozenset()


class FraudEvidence(Record):
    """Everything the checks of one referral see, at signup or later."""

    referred: Person
    advocate_code: str
    advocate: Person
    known: tuple[KnownPerson, ...] = ()
    declared_existing_customer: bool = False  # the business's server says the person is a customer
    recent: RecentCounts = msgspec.field(default_factory=RecentCounts)
    blocklist: Blocklist = msgspec.field(default_factory=Blocklist)

    @property
    def network(self) -> str | None:
        """The referred person's network: the IP fingerprint of their latest device that has one."""
        return next((device.ip for device in reversed(self.referred.devices) if device.ip), None)
