"""The fraud checks at signup: the evidence gathered (ports.SignupEvidence), the campaign's policy
applied (domain/fraud.py), and the audit of what they found (docs/adr/0018)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from referral_engine.domain.emails import canonical_email, email_domain
from referral_engine.domain.fraud import Action, Finding, FraudRule, Reason, Verdict, assess
from referral_engine.domain.fraud_evidence import Device, FraudEvidence, Person
from referral_engine.domain.identifiers import new_id
from referral_engine.domain.models import AuditEntry, Campaign, Participant
from referral_engine.domain.records import json_values
from referral_engine.ports import SignupEvidence

if TYPE_CHECKING:
    from referral_engine.services.referrals import NewSignup


class FraudChecks:
    def __init__(self, evidence: SignupEvidence) -> None:
        self._evidence = evidence

    def judge(
        self,
        campaign: Campaign,
        advocate: Participant,
        request: NewSignup,
        device: Device | None,
        at: datetime,
    ) -> Verdict:
        devices = (device,) if device is not None else ()
        referred = Person.of(request.email, request.external_ids, devices)
        # The advocate's devices matter only to a friend whose own device is known whole.
        advocate_devices = self._evidence.devices_of(advocate.code) if device and device.is_known else ()
        evidence = FraudEvidence(
            referred=referred,
            advocate_code=advocate.code,
            advocate=Person.of(advocate.email, advocate.external_ids, advocate_devices),
            known=tuple(self._evidence.known_people(campaign.id, referred.email)),
            declared_existing_customer=request.existing_customer,
            recent=self._evidence.recent_counts(advocate.code, device.ip if device else None, at),
            blocklist=campaign.fraud.blocked,
        )
        return assess(evidence, campaign.fraud)

    @staticmethod
    def advocates_own_email(advocate: Participant) -> Verdict:
        """The advocate's own address, exactly: one address is one participant of a campaign, so it
        cannot be stored as a friend to review; refused whatever the policy (docs/adr/0018)."""
        finding = Finding(
            rule=FraudRule.SELF_REFERRAL,
            reason=Reason.SELF_REFERRAL_EMAIL,
            seen={
                "advocate_code": advocate.code,
                "email_domain": email_domain(canonical_email(advocate.email)),
            },
            action=Action.REJECT,
        )
        return Verdict(action=Action.REJECT, findings=(finding,))

    @staticmethod
    def audit_detail(verdict: Verdict) -> dict[str, Any]:
        """What an audit entry says of a verdict: its action, reasons and findings (none personal)."""
        if not verdict.findings:
            return {}
        return {
            "fraud": {
                "action": verdict.action.value,
                "reasons": [reason.value for reason in verdict.reasons],
                "findings": [json_values(finding) for finding in verdict.findings],
            }
        }

    def record_refusal(
        self, campaign: Campaign, advocate: Participant, verdict: Verdict, actor: str, at: datetime
    ) -> None:
        """The refused signup's audit entry, under an id of its own: no referral is created."""
        self._evidence.record_refusal(
            campaign.id,
            AuditEntry(
                referral_id=new_id("ref"),
                at=at,
                action="referral.refused",
                actor=actor,
                detail={
                    "advocate_code": advocate.code,
                    "campaign_id": campaign.id,
                    **self.audit_detail(verdict),
                },
            ),
        )
