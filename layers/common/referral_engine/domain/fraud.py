"""The fraud checks: pure rules over a referral's evidence, a campaign's policy, one verdict.

Each rule returns its findings: a stable reason code (`Reason`, part of the API) and what it saw, with
no more personal data than an admin needs to decide (an email's domain, fingerprints, codes and ids,
never an address or a raw IP). The campaign's `FraudPolicy` says, per rule, whether a finding is
allowed, sent to review or rejected; the verdict is the strictest of them (docs/adr/0018).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any

import msgspec

from referral_engine.domain.disposable_emails import is_disposable
from referral_engine.domain.emails import email_domain, parent_domains
from referral_engine.domain.errors import FraudRejected
from referral_engine.domain.fraud_evidence import FraudEvidence
from referral_engine.domain.records import Record, replace


class Action(StrEnum):
    ALLOW = "allow"
    REVIEW = "review"
    REJECT = "reject"


_SEVERITY = {Action.ALLOW: 0, Action.REVIEW: 1, Action.REJECT: 2}


class FraudRule(StrEnum):
    SELF_REFERRAL = "self_referral"
    DUPLICATE_PERSON = "duplicate_person"
    DISPOSABLE_EMAIL = "disposable_email"
    VELOCITY = "velocity"
    EXISTING_CUSTOMER = "existing_customer"
    BLOCKLIST = "blocklist"


class Reason(StrEnum):
    """The reason codes: stable, as an API's error codes are; each belongs to one rule (`RULE_OF`)."""

    SELF_REFERRAL_EMAIL = "self_referral_email"
    SELF_REFERRAL_EXTERNAL_ID = "self_referral_external_id"
    SELF_REFERRAL_DEVICE = "self_referral_device"
    DUPLICATE_EMAIL = "duplicate_email"
    DUPLICATE_EXTERNAL_ID = "duplicate_external_id"
    DISPOSABLE_EMAIL_DOMAIN = "disposable_email_domain"
    VELOCITY_ADVOCATE_HOUR = "velocity_advocate_hour"
    VELOCITY_ADVOCATE_DAY = "velocity_advocate_day"
    VELOCITY_NETWORK_HOUR = "velocity_network_hour"
    VELOCITY_NETWORK_DAY = "velocity_network_day"
    EXISTING_CUSTOMER_DECLARED = "existing_customer_declared"
    EXISTING_CUSTOMER_ADVOCATE = "existing_customer_advocate"
    EXISTING_CUSTOMER_KNOWN = "existing_customer_known"
    BLOCKED_EMAIL_DOMAIN = "blocked_email_domain"
    BLOCKED_FINGERPRINT = "blocked_fingerprint"
    BLOCKED_CODE = "blocked_code"


_BY_RULE = {
    FraudRule.SELF_REFERRAL: (
        Reason.SELF_REFERRAL_EMAIL,
        Reason.SELF_REFERRAL_EXTERNAL_ID,
        Reason.SELF_REFERRAL_DEVICE,
    ),
    FraudRule.DUPLICATE_PERSON: (Reason.DUPLICATE_EMAIL, Reason.DUPLICATE_EXTERNAL_ID),
    FraudRule.DISPOSABLE_EMAIL: (Reason.DISPOSABLE_EMAIL_DOMAIN,),
    FraudRule.VELOCITY: (
        Reason.VELOCITY_ADVOCATE_HOUR,
        Reason.VELOCITY_ADVOCATE_DAY,
        Reason.VELOCITY_NETWORK_HOUR,
        Reason.VELOCITY_NETWORK_DAY,
    ),
    FraudRule.EXISTING_CUSTOMER: (
        Reason.EXISTING_CUSTOMER_DECLARED,
        Reason.EXISTING_CUSTOMER_ADVOCATE,
        Reason.EXISTING_CUSTOMER_KNOWN,
    ),
    FraudRule.BLOCKLIST: (Reason.BLOCKED_EMAIL_DOMAIN, Reason.BLOCKED_FINGERPRINT, Reason.BLOCKED_CODE),
}
RULE_OF: Mapping[Reason, FraudRule] = {
    reason: rule for rule, reasons in _BY_RULE.items() for reason in reasons
}
if set(RULE_OF) != set(Reason):  # a reason code added without its rule fails at import
    raise ValueError("every reason code belongs to one rule")


class Finding(Record):
    """One rule's finding: its reason code, what it saw (`seen`, non-personal as the module says), and
    the action the campaign's policy takes on it (None until `assess` judged it)."""

    rule: FraudRule
    reason: Reason
    seen: dict[str, Any] = msgspec.field(default_factory=dict)
    action: Action | None = None


class VelocityLimits(Record):
    """The most referrals one advocate, and signups one network, may make per hour and per day."""

    advocate_per_hour: int = 10
    advocate_per_day: int = 50
    network_per_hour: int = 5
    network_per_day: int = 20

    def __post_init__(self) -> None:
        for name in self.__struct_fields__:
            if not 1 <= getattr(self, name) <= 100_000:
                raise ValueError(f"{name}: from 1 to 100000")


class FraudPolicy(Record):
    """A campaign's answer to each rule's findings. The defaults reject only on facts the business
    states (its blocklists, a customer it knows) and send inferences to review (docs/adr/0018)."""

    self_referral: Action = Action.REVIEW
    duplicate_person: Action = Action.REVIEW
    disposable_email: Action = Action.REVIEW
    velocity: Action = Action.REVIEW
    existing_customer: Action = Action.REJECT
    blocklist: Action = Action.REJECT
    limits: VelocityLimits = msgspec.field(default_factory=VelocityLimits)

    def action_for(self, rule: FraudRule) -> Action:
        action: Action = getattr(self, rule.value)
        return action


class Verdict(Record):
    """The strictest action any finding drew (`allow` with no finding), and every finding, judged."""

    action: Action
    findings: tuple[Finding, ...] = ()

    @property
    def reasons(self) -> list[Reason]:
        """The reason codes behind the verdict's action (what a 422 or a review item names)."""
        return [finding.reason for finding in self.findings if finding.action is self.action]

    def refuse_if_rejected(self) -> None:
        """Raises FraudRejected, naming the rejecting reasons, when the verdict is `reject`."""
        if self.action is Action.REJECT:
            raise FraudRejected([reason.value for reason in self.reasons])


# -------------------------------------------------------------------------------------- the rules


def _finding(reason: Reason, **seen: Any) -> Finding:
    return Finding(rule=RULE_OF[reason], reason=reason, seen=seen)


def self_referral(evidence: FraudEvidence) -> list[Finding]:
    """The friend is the advocate: the same canonical email, an external id in common, or a device
    (network and browser both) the advocate was seen on. A shared network alone is no finding: a
    household, an office or a mobile carrier's NAT puts many people behind one address."""
    referred, advocate, code = evidence.referred, evidence.advocate, evidence.advocate_code
    findings = []
    if referred.email == advocate.email:
        findings.append(
            _finding(
                Reason.SELF_REFERRAL_EMAIL, advocate_code=code, email_domain=email_domain(referred.email)
            )
        )
    if shared := referred.shared_external_ids(advocate):
        findings.append(_finding(Reason.SELF_REFERRAL_EXTERNAL_ID, advocate_code=code, external_ids=shared))
    advocate_devices = {device for device in advocate.devices if device.is_known}
    if same := next((d for d in referred.devices if d.is_known and d in advocate_devices), None):
        findings.append(
            _finding(Reason.SELF_REFERRAL_DEVICE, advocate_code=code, ip=same.ip, user_agent=same.user_agent)
        )
    return findings


def duplicate_person(evidence: FraudEvidence) -> list[Finding]:
    """The friend was already referred in the campaign under another spelling or code."""
    by_email: list[str] = []
    by_external_id: list[str] = []
    for known in evidence.known:
        if known.role == "referred" and (how := evidence.referred.same_as(known.person)):
            (by_email if how == "email" else by_external_id).append(known.id)
    return [
        _finding(reason, referral_ids=sorted(ids))
        for reason, ids in (
            (Reason.DUPLICATE_EMAIL, by_email),
            (Reason.DUPLICATE_EXTERNAL_ID, by_external_id),
        )
        if ids
    ]


def disposable_email(evidence: FraudEvidence) -> list[Finding]:
    """The friend's email domain is on the maintained list of disposable ones."""
    listed = is_disposable(email_domain(evidence.referred.email))
    return [_finding(Reason.DISPOSABLE_EMAIL_DOMAIN, email_domain=listed)] if listed else []


def velocity(evidence: FraudEvidence, limits: VelocityLimits) -> list[Finding]:
    """Over a limit counting this one: the advocate's referrals, or the signups from one network."""
    recent = evidence.recent
    advocate = {"advocate_code": evidence.advocate_code}
    windows = [
        (Reason.VELOCITY_ADVOCATE_HOUR, recent.advocate_referrals_hour, limits.advocate_per_hour, advocate),
        (Reason.VELOCITY_ADVOCATE_DAY, recent.advocate_referrals_day, limits.advocate_per_day, advocate),
    ]
    if evidence.network is not None:
        network = {"ip": evidence.network}
        windows += [
            (Reason.VELOCITY_NETWORK_HOUR, recent.network_signups_hour, limits.network_per_hour, network),
            (Reason.VELOCITY_NETWORK_DAY, recent.network_signups_day, limits.network_per_day, network),
        ]
    return [
        _finding(reason, count=earlier + 1, limit=limit, **subject)
        for reason, earlier, limit, subject in windows
        if earlier + 1 > limit
    ]


def existing_customer(evidence: FraudEvidence) -> list[Finding]:
    """The friend is no new customer: the business says so, or they are an advocate or a customer
    the campaign knows (by canonical email or external id) other than the advocate who referred them:
    that is a self-referral."""
    findings = [_finding(Reason.EXISTING_CUSTOMER_DECLARED)] if evidence.declared_existing_customer else []
    for known in evidence.known:
        if known.role == "referred" or known.id == evidence.advocate_code:
            continue
        if how := evidence.referred.same_as(known.person):
            reason = (
                Reason.EXISTING_CUSTOMER_ADVOCATE
                if known.role == "advocate"
                else Reason.EXISTING_CUSTOMER_KNOWN
            )
            findings.append(_finding(reason, code=known.id, matched_on=how))
    return findings


def blocklist(evidence: FraudEvidence) -> list[Finding]:
    """The friend's email domain (or one above it), one of their fingerprints, or the advocate's code
    is on the business's blocklist."""
    blocked = evidence.blocklist
    findings = [
        _finding(Reason.BLOCKED_EMAIL_DOMAIN, email_domain=domain)
        for domain in parent_domains(email_domain(evidence.referred.email))
        if domain in blocked.email_domains
    ][:1]
    prints = set().union(*(device.fingerprints for device in evidence.referred.devices))
    findings += [
        _finding(Reason.BLOCKED_FINGERPRINT, fingerprint=print_)
        for print_ in sorted(prints & blocked.fingerprints)
    ]
    if evidence.advocate_code in blocked.codes:
        findings.append(_finding(Reason.BLOCKED_CODE, advocate_code=evidence.advocate_code))
    return findings


RULES: Mapping[FraudRule, Callable[[FraudEvidence, FraudPolicy], list[Finding]]] = {
    FraudRule.SELF_REFERRAL: lambda evidence, _: self_referral(evidence),
    FraudRule.DUPLICATE_PERSON: lambda evidence, _: duplicate_person(evidence),
    FraudRule.DISPOSABLE_EMAIL: lambda evidence, _: disposable_email(evidence),
    FraudRule.VELOCITY: lambda evidence, policy: velocity(evidence, policy.limits),
    FraudRule.EXISTING_CUSTOMER: lambda evidence, _: existing_customer(evidence),
    FraudRule.BLOCKLIST: lambda evidence, _: blocklist(evidence),
}


def assess(evidence: FraudEvidence, policy: FraudPolicy) -> Verdict:
    """Every rule's findings, each with its policy's action; the verdict is the strictest: reject
    over review over allow. A rule the policy allows is still run, so its findings are kept."""
    findings = [
        replace(finding, action=policy.action_for(rule))
        for rule, check in RULES.items()
        for finding in check(evidence, policy)
    ]
    judged = (finding.action for finding in findings if finding.action is not None)
    action = max(judged, key=_SEVERITY.__getitem__, default=Action.ALLOW)
    return Verdict(action=action, findings=tuple(findings))
