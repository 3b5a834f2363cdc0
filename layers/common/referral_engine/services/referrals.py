"""Recording referred signups and reading referrals."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, NoReturn

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints

from referral_engine.domain.addresses import parse_ip
from referral_engine.domain.errors import (
    AlreadyParticipant,
    CampaignInactive,
    ExternalIdTaken,
    InvalidRequest,
    NotFound,
)
from referral_engine.domain.fields import Email, ExternalIds
from referral_engine.domain.fingerprints import (
    MAX_USER_AGENT,
    FingerprintKey,
    ip_fingerprint,
    user_agent_fingerprint,
)
from referral_engine.domain.fraud import Action, Verdict
from referral_engine.domain.fraud_evidence import Device
from referral_engine.domain.identifiers import new_code, new_id, normalise_code
from referral_engine.domain.models import (
    AuditEntry,
    Campaign,
    Participant,
    Referral,
    ReferralStatus,
    utcnow,
)
from referral_engine.domain.reviews import fraud_review
from referral_engine.domain.states import REFERRALS
from referral_engine.ports import (
    CampaignStore,
    CodeTaken,
    CorrelationSource,
    EmailTaken,
    ExternalIdClaimed,
    ParticipantStore,
    ReferralHistory,
    ReferralPage,
    ReferralSort,
    ReferralStore,
    SignupEvidence,
    SignupTrace,
    no_correlation,
)
from referral_engine.services.campaigns import CODE_ATTEMPTS, Name
from referral_engine.services.fraud_checks import FraudChecks


def _ip_address(text: str) -> str:
    if parse_ip(text) is None:
        raise ValueError("not an IPv4 or IPv6 address")
    return text


IpAddress = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=64), AfterValidator(_ip_address)
]
UserAgent = Annotated[str, StringConstraints(max_length=MAX_USER_AGENT)]


class NewSignup(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str
    email: Email
    name: Name | None = None
    external_ids: ExternalIds = {}
    # The visitor's, as the business's server saw them: evidence for the fraud checks, kept only as
    # keyed fingerprints (docs/adr/0018).
    ip: IpAddress | None = None
    user_agent: UserAgent | None = None
    existing_customer: bool = False  # the business says this person is already its customer


class ReferralService:
    def __init__(
        self,
        campaigns: CampaignStore,
        participants: ParticipantStore,
        referrals: ReferralStore,
        correlation: CorrelationSource = no_correlation,
        *,
        evidence: SignupEvidence,
        fingerprints: Callable[[], FingerprintKey | None],
    ) -> None:
        self._campaigns = campaigns
        self._participants = participants
        self._referrals = referrals
        self._correlation = correlation
        self._checks = FraudChecks(evidence)
        self._fingerprints = fingerprints

    def sign_up(self, request: NewSignup, *, actor: str) -> tuple[Referral, bool]:
        """Attributes a referred person's signup to the advocate whose code they used.

        Returns the referral and whether it was created: the same email again in the campaign
        returns the first referral, which stands. The campaign's fraud policy judges a new one
        (services/fraud_checks.py): a rejection raises FraudRejected with only its audit written, a
        review creates it `in_review`.
        """
        code = normalise_code(request.code)
        advocate = self._participants.get(code) if code else None
        if advocate is None:
            raise NotFound(f"no referral code {request.code!r}")
        campaign = self._campaigns.get(advocate.campaign_id)
        if campaign is None:
            raise NotFound(f"no campaign {advocate.campaign_id}")
        if campaign.status != "active":
            raise CampaignInactive(f"campaign {campaign.id} is {campaign.status}")
        now = utcnow()
        if advocate.email == request.email:
            self._refuse(campaign, advocate, self._checks.advocates_own_email(advocate), actor, now)
        existing = self._participants.by_email(campaign.id, request.email)
        if existing is not None:  # the first referral of a friend stands
            return self._referral_of(existing), False
        device = self._device(request)
        verdict = self._checks.judge(campaign, advocate, request, device, now)
        if verdict.action is Action.REJECT:
            self._refuse(campaign, advocate, verdict, actor, now)
        status = ReferralStatus.IN_REVIEW if verdict.action is Action.REVIEW else ReferralStatus.PENDING
        return self._create(
            campaign, advocate, request, status, verdict, SignupTrace(at=now, device=device), actor
        )

    def _device(self, request: NewSignup) -> Device | None:
        """The visitor's fingerprints; the secret is read only when there is something to key."""
        if request.ip is None and not request.user_agent:
            return None
        key = self._fingerprints()
        if key is None:
            return None
        ip = ip_fingerprint(key, request.ip) if request.ip else None
        user_agent = user_agent_fingerprint(key, request.user_agent) if request.user_agent else None
        return Device(ip=ip, user_agent=user_agent) if ip or user_agent else None

    def _refuse(
        self, campaign: Campaign, advocate: Participant, verdict: Verdict, actor: str, now: datetime
    ) -> NoReturn:
        """Writes the refusal's audit entry, under an id of its own, and nothing else."""
        self._checks.record_refusal(campaign, advocate, verdict, actor, now)
        verdict.refuse_if_rejected()
        raise AssertionError("a rejecting verdict refuses")

    def _create(
        self,
        campaign: Campaign,
        advocate: Participant,
        request: NewSignup,
        status: ReferralStatus,
        verdict: Verdict,
        trace: SignupTrace,
        actor: str,
    ) -> tuple[Referral, bool]:
        for _ in range(CODE_ATTEMPTS):
            now = utcnow()
            referral = Referral(
                id=new_id("ref"),
                campaign_id=campaign.id,
                advocate_code=advocate.code,
                referred_code=new_code(),
                referred_email=request.email,
                referred_name=request.name,
                external_ids=request.external_ids,
                status=status,
                joined_at=now,
                correlation_id=self._correlation(),
            )
            REFERRALS.require_entry(referral.status)
            # Flagged at signup: its review item is opened with it (docs/adr/0019).
            review = (
                fraud_review(referral, verdict.reasons, now) if status is ReferralStatus.IN_REVIEW else None
            )
            referred = Participant(
                code=referral.referred_code,
                campaign_id=campaign.id,
                email=request.email,
                name=request.name,
                external_ids=request.external_ids,
                referral_id=referral.id,
                landing_url=campaign.landing_url,
                created_at=now,
            )
            audit = AuditEntry(
                referral_id=referral.id,
                at=now,
                action="referral.created",
                actor=actor,
                to_status=referral.status,
                detail={
                    "advocate_code": advocate.code,
                    **self._checks.audit_detail(verdict),
                    **({"review_id": review.id} if review else {}),
                },
            )
            try:
                self._referrals.add(referral, referred, audit, trace, review)
            except CodeTaken:
                continue
            except ExternalIdClaimed as error:
                raise ExternalIdTaken(str(error)) from error
            except EmailTaken:  # signed up meanwhile
                participant = self._participants.by_email(campaign.id, request.email)
                if participant is None:
                    raise
                return self._referral_of(participant), False
            return referral, True
        raise RuntimeError("could not find a free referral code")

    def _referral_of(self, participant: Participant) -> Referral:
        if participant.referral_id is None:
            raise AlreadyParticipant("this email already takes part in the campaign as an advocate")
        referral = self._referrals.get(participant.referral_id)
        if referral is None:
            raise NotFound(f"no referral {participant.referral_id}")
        return referral

    def history(self, referral_id: str) -> ReferralHistory:
        history = self._referrals.history(referral_id)
        if history is None:
            raise NotFound(f"no referral {referral_id}")
        return history

    def list(
        self,
        campaign_id: str,
        *,
        status: ReferralStatus | None,
        sort: ReferralSort,
        descending: bool,
        limit: int,
        cursor: str | None,
    ) -> ReferralPage:
        if self._campaigns.get(campaign_id) is None:
            raise NotFound(f"no campaign {campaign_id}")
        try:
            return self._referrals.page(
                campaign_id, status=status, sort=sort, descending=descending, limit=limit, cursor=cursor
            )
        except ValueError as error:
            raise InvalidRequest("the cursor is not valid") from error
