"""A campaign's fraud policy as a request gives it (the form of domain/fraud.FraudPolicy): every field
optional, a field left out takes the documented default (docs/adr/0018), an unknown one is refused."""

from __future__ import annotations

from typing import Annotated

import msgspec
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from referral_engine.domain.emails import canonical_domain
from referral_engine.domain.fraud import Action, FraudPolicy

Limit = Annotated[int, Field(ge=1, le=100_000, strict=True)]
_Entry = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=253)]
Entries = Annotated[list[_Entry], Field(max_length=1000)]
# A domain as the checks compare it: `BÜCHER.de` and `xn--bcher-kva.de` block the same addresses.
Domains = Annotated[list[Annotated[_Entry, AfterValidator(canonical_domain)]], Field(max_length=1000)]


class VelocityLimitsRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    advocate_per_hour: Limit | None = None
    advocate_per_day: Limit | None = None
    network_per_hour: Limit | None = None
    network_per_day: Limit | None = None


class BlocklistRequest(BaseModel):
    """Email domains (their subdomains too), fingerprints (`ip_…`, `ua_…`) and advocates' codes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    email_domains: Domains = []
    fingerprints: Entries = []
    codes: Entries = []


class FraudPolicyRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    self_referral: Action | None = None
    duplicate_person: Action | None = None
    disposable_email: Action | None = None
    velocity: Action | None = None
    existing_customer: Action | None = None
    blocklist: Action | None = None
    limits: VelocityLimitsRequest | None = None
    blocked: BlocklistRequest | None = None  # what the `blocklist` rule refuses

    def policy(self) -> FraudPolicy:
        return msgspec.convert(self.model_dump(mode="json", exclude_none=True), FraudPolicy)
