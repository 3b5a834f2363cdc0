"""In-memory fakes of `referral_engine.ports`, for unit tests (no AWS, no network).

Each fake keeps plain dicts behind one lock and honours the same contract as its DynamoDB adapter
(`referral_engine/adapters/dynamodb/`): conditional writes fail the same way, a failed multi-item
write writes nothing (like a transaction), and the same exceptions are raised in the same order of
precedence. Writes the ports do not expect to fail (a duplicate campaign id, a missing advocate)
raise `ConditionFailed`, the counterpart of the adapter's `TransactionCancelled`.

`World` wires the real services to one in-memory backend and offers builders for the usual
"Given" steps of the unit tests.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from referral_engine.domain import records
from referral_engine.domain.click_shards import total_clicks
from referral_engine.domain.emails import canonical_email as canonical
from referral_engine.domain.events import ReferralQualified, ReferralReversed
from referral_engine.domain.fraud_evidence import Device, KnownPerson, Person, RecentCounts
from referral_engine.domain.models import (
    AuditEntry,
    Campaign,
    Participant,
    Referral,
    ReferralStatus,
    Reward,
    RewardStatus,
    Signal,
    SignalKind,
    SignalMatch,
    utcnow,
)
from referral_engine.domain.reversals import HOLDS_REVERSALS, HeldReversal, Reversal
from referral_engine.domain.reviews import ReviewItem
from referral_engine.domain.states import REFERRALS
from referral_engine.ports import (
    ApiKey,
    ApiKeyPage,
    CampaignPage,
    CodeTaken,
    EmailTaken,
    ExternalIdClaimed,
    HoldOutcome,
    ReferralHistory,
    ReferralPage,
    ReferralSort,
    SignupTrace,
    TransitionResult,
)
from referral_engine.services.api_keys import ApiKeyService
from referral_engine.services.campaigns import CampaignService, NewAdvocate, NewCampaign
from referral_engine.services.qualification import QualificationService
from referral_engine.services.referrals import NewSignup, ReferralService
from referral_engine.services.rewards import RewardService
from referral_engine.services.signals import SignalService

if TYPE_CHECKING:
    from collections.abc import Sequence

    from referral_engine import ports


class ConditionFailed(Exception):
    """A conditional write failed for a reason the port does not name (the adapter raises
    TransactionCancelled or ClientError there): in the services this is always a programming error."""


class PublishFailed(Exception):
    """Raised by the fake publisher when told to, to simulate a crash between a write and its event."""


def external_id_key(source: str, vendor_id: str) -> str:
    """How a referral's external id is claimed and looked up (adapters.dynamodb.referrals.external_id)."""
    return f"{source}:{vendor_id}"


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="microseconds")


class InMemoryCampaignStore:
    def __init__(self, lock: threading.RLock | None = None) -> None:
        self.lock = lock or threading.RLock()
        self.campaigns: dict[str, Campaign] = {}
        self.hooks: dict[str, str] = {}  # hook id → campaign id
        self._cursors: dict[str, str] = {}  # cursor → sort key of the last campaign of its page
        self._cursor_numbers = itertools.count(1)

    def add(self, campaign: Campaign) -> None:
        with self.lock:
            if campaign.id in self.campaigns or campaign.hook_id in self.hooks:
                raise ConditionFailed(f"campaign {campaign.id} or its hook already exists")
            self.campaigns[campaign.id] = campaign
            self.hooks[campaign.hook_id] = campaign.id

    def get(self, campaign_id: str) -> Campaign | None:
        with self.lock:
            return self.campaigns.get(campaign_id)

    def by_hook(self, hook_id: str) -> Campaign | None:
        with self.lock:
            campaign_id = self.hooks.get(hook_id)
            return None if campaign_id is None else self.campaigns.get(campaign_id)

    def replace_hook_signing(self, campaign: Campaign, *, trusted_version: int | None) -> bool:
        with self.lock:
            stored = self.campaigns.get(campaign.id)
            if (
                stored is None
                or (stored.hook_signing.version if stored.hook_signing else None) != trusted_version
            ):
                return False
            self.campaigns[campaign.id] = campaign
            return True

    def move_hook(self, campaign: Campaign, old_hook_id: str) -> bool:
        with self.lock:
            stored = self.campaigns.get(campaign.id)
            if stored is None or stored.hook_id != old_hook_id:
                return False
            self.campaigns[campaign.id] = campaign
            del self.hooks[old_hook_id]
            self.hooks[campaign.hook_id] = campaign.id
            return True

    def recent(self, *, limit: int, cursor: str | None) -> CampaignPage:
        """Newest first by (created_at, id), like the adapter's query of gsi1 backwards."""
        with self.lock:
            index = sorted(
                ((f"{_iso(c.created_at)}#{c.id}", c) for c in self.campaigns.values()),
                key=lambda pair: pair[0],
                reverse=True,
            )
            if cursor:
                last = self._cursors.get(cursor)
                if last is None:
                    raise ValueError("cursor does not belong to this listing")
                index = [pair for pair in index if pair[0] < last]
            page, rest = index[:limit], index[limit:]
            next_cursor = None
            if rest:
                next_cursor = f"campaigns-cursor-{next(self._cursor_numbers)}"
                self._cursors[next_cursor] = page[-1][0]
            return CampaignPage(items=[campaign for _, campaign in page], next_cursor=next_cursor)

    # Test helper, not part of the port (no service changes a campaign yet).
    def replace(self, campaign: Campaign) -> None:
        with self.lock:
            if self.campaigns[campaign.id].hook_id != campaign.hook_id:
                raise ValueError("replace() keeps the hook id")
            self.campaigns[campaign.id] = campaign


class InMemoryParticipantStore:
    def __init__(self, lock: threading.RLock | None = None) -> None:
        self.lock = lock or threading.RLock()
        self.participants: dict[str, Participant] = {}  # code → participant
        self.email_claims: dict[tuple[str, str], str] = {}  # (campaign id, email) → code
        self.click_shards: dict[str, dict[int, int]] = {}  # code → shard → clicks counted there

    def add(self, participant: Participant) -> None:
        with self.lock:
            self.check_claims(participant)
            self.write(participant)

    def get(self, code: str) -> Participant | None:
        with self.lock:
            return self.participants.get(code)

    def by_email(self, campaign_id: str, email: str) -> Participant | None:
        with self.lock:
            code = self.email_claims.get((campaign_id, email))
            return None if code is None else self.participants.get(code)

    def with_clicks(self, participant: Participant) -> Participant:
        with self.lock:
            on_shards = self.click_shards.get(participant.code, {}).values()
            return records.replace(participant, clicks=total_clicks(participant.clicks, on_shards))

    # Shared with InMemoryReferralStore, which writes a participant inside its own "transaction".
    def check_claims(self, participant: Participant) -> None:
        """EmailTaken takes precedence over CodeTaken, as in adapters.dynamodb.participants."""
        if (participant.campaign_id, participant.email) in self.email_claims:
            raise EmailTaken
        if participant.code in self.participants:
            raise CodeTaken

    def write(self, participant: Participant) -> None:
        self.email_claims[(participant.campaign_id, participant.email)] = participant.code
        self.participants[participant.code] = participant

    def update(self, code: str, **changes: Any) -> None:
        current = self.participants[code]
        self.participants[code] = records.replace(current, **changes)


class InMemorySignupEvidence:
    """The participants by canonical email; no devices or counts (the integration tests cover those)."""

    def __init__(self, participants: InMemoryParticipantStore) -> None:
        self.participants = participants
        self.refusals: list[tuple[str, AuditEntry]] = []

    def known_people(self, campaign_id: str, canonical_email: str) -> list[KnownPerson]:
        with self.participants.lock:
            found = [
                p
                for p in self.participants.participants.values()
                if p.campaign_id == campaign_id and canonical(p.email) == canonical_email
            ]
        person = Person(email=canonical_email)
        return [
            KnownPerson(id=p.referral_id, role="referred", person=person)
            if p.referral_id
            else KnownPerson(id=p.code, role="advocate", person=person)
            for p in found
        ]

    def devices_of(self, code: str) -> tuple[Device, ...]:
        return ()

    def recent_counts(self, advocate_code: str, network: str | None, at: datetime) -> RecentCounts:
        return RecentCounts()

    def record_refusal(self, campaign_id: str, audit: AuditEntry) -> None:
        self.refusals.append((campaign_id, audit))


class InMemoryReferralStore:
    """Shares its lock with the participant store: a referral write touches participants too."""

    def __init__(self, participants: InMemoryParticipantStore) -> None:
        self.participants = participants
        self.lock = participants.lock
        self.referrals: dict[str, Referral] = {}
        self.external_ids: dict[tuple[str, str], str] = {}  # (campaign id, "source:id") → referral id
        self.payments: dict[tuple[str, str], str] = {}  # (campaign id, payment id) → referral id
        self.rewards: dict[tuple[str, str], Reward] = {}  # (referral id, recipient) → reward
        self.audit: dict[tuple[str, str, str], AuditEntry] = {}  # (referral id, iso time, action)
        self.holds: dict[str, HeldReversal] = {}  # referral id → the reversal held on it
        self.reversals: dict[str, Reversal] = {}  # referral id → what reversed it
        self.reviews: dict[str, ReviewItem] = {}  # review id → the item opened with its referral
        self.held_signals: dict[str, Signal] = {}  # referral id → the signal kept while in review
        self._cursors: dict[str, tuple[str, ReferralSort, bool, str]] = {}
        self._cursor_numbers = itertools.count(1)

    def add(
        self,
        referral: Referral,
        referred: Participant,
        audit: AuditEntry,
        trace: SignupTrace | None = None,
        review: ReviewItem | None = None,
    ) -> None:
        with self.lock:
            self.participants.check_claims(referred)
            claims = [
                (referral.campaign_id, external_id_key(source, vendor_id))
                for source, vendor_id in referral.external_ids.items()
            ]
            taken = [claim[1] for claim in claims if claim in self.external_ids]
            if taken:
                raise ExternalIdClaimed(f"external id already used by another referral: {taken}")
            if referral.id in self.referrals:
                raise ConditionFailed(f"referral {referral.id} already exists")
            if referral.advocate_code not in self.participants.participants:
                raise ConditionFailed(f"no advocate {referral.advocate_code}")
            # Every condition holds: write it all.
            self.participants.write(referred)
            self.referrals[referral.id] = referral
            self._put_audit(audit)
            advocate = self.participants.participants[referral.advocate_code]
            self.participants.update(advocate.code, referrals=advocate.referrals + 1)
            for claim in claims:
                self.external_ids[claim] = referral.id
            if review is not None:
                self.reviews[review.id] = review

    def hold_for_review(self, referral: Referral, signal: Signal, audit: AuditEntry) -> HoldOutcome:
        with self.lock:
            if self.referrals[referral.id].status is not ReferralStatus.IN_REVIEW:
                return "not_in_review"
            self._put_audit(audit)
            if referral.id in self.held_signals:
                return "kept_one_already"
            self.held_signals[referral.id] = signal
            return "held"

    def get(self, referral_id: str) -> Referral | None:
        with self.lock:
            return self.referrals.get(referral_id)

    def history(self, referral_id: str) -> ReferralHistory | None:
        with self.lock:
            referral = self.referrals.get(referral_id)
            if referral is None:
                return None
            rewards = [reward for (rid, _), reward in sorted(self.rewards.items()) if rid == referral_id]
            audit = [entry for (rid, _, _), entry in sorted(self.audit.items()) if rid == referral_id]
            return ReferralHistory(referral=referral, rewards=rewards, audit=audit)

    def by_external_id(self, campaign_id: str, external_id: str) -> Referral | None:
        with self.lock:
            referral_id = self.external_ids.get((campaign_id, external_id))
            return None if referral_id is None else self.referrals.get(referral_id)

    def by_payment_id(self, campaign_id: str, payment_id: str) -> Referral | None:
        with self.lock:
            referral_id = self.payments.get((campaign_id, payment_id))
            return None if referral_id is None else self.referrals.get(referral_id)

    def page(
        self,
        campaign_id: str,
        *,
        status: ReferralStatus | None,
        sort: ReferralSort,
        descending: bool,
        limit: int,
        cursor: str | None,
    ) -> ReferralPage:
        """Like a DynamoDB Query on the index: `limit` counts items read, before the status filter."""
        with self.lock:
            index = sorted(
                (
                    (self._sort_key(referral, sort), referral)
                    for referral in self.referrals.values()
                    if referral.campaign_id == campaign_id
                    and (sort == "joined_at" or referral.qualified_at is not None)
                ),
                key=lambda pair: pair[0],
                reverse=descending,
            )
            if cursor:
                issued = self._cursors.get(cursor)
                if issued is None or issued[:3] != (campaign_id, sort, descending):
                    raise ValueError("cursor does not belong to this listing")
                last = issued[3]
                index = [pair for pair in index if (pair[0] < last if descending else pair[0] > last)]
            page, rest = index[:limit], index[limit:]
            next_cursor = None
            if rest:
                next_cursor = f"cursor-{next(self._cursor_numbers)}"
                self._cursors[next_cursor] = (campaign_id, sort, descending, page[-1][0])
            items = [referral for _, referral in page if status is None or referral.status is status]
            return ReferralPage(items=items, next_cursor=next_cursor)

    def mark_qualified(
        self,
        referral: Referral,
        signal_key: str,
        audit: AuditEntry,
        *,
        despite: HeldReversal | None = None,
        payment_ids: Sequence[str] = (),
        milestone_at: datetime | None = None,
    ) -> TransitionResult:
        REFERRALS.require(referral.status, ReferralStatus.QUALIFIED)
        with self.lock:
            current = self.referrals.get(referral.id)
            hold = self.holds.get(referral.id)
            seen = None if despite is None else (despite.source, despite.event_id)
            if current is not None and (None if hold is None else (hold.source, hold.event_id)) != seen:
                # Like the adapter's condition on the held reversal (after the one on the status).
                return TransitionResult(applied=False, current=current)
            paid: dict[str, Any] = {"payment_ids": list(payment_ids)} if payment_ids else {}
            if milestone_at is not None:
                paid["milestone_at"] = milestone_at
            result = self._transition(
                referral,
                ReferralStatus.QUALIFIED,
                {"qualified_at": audit.at, "qualified_by": signal_key, **paid},
                audit,
            )
            if result.applied:
                for payment_id in payment_ids:
                    self.payments[(referral.campaign_id, payment_id)] = referral.id
            return result

    def record_rewards(
        self, referral: Referral, rewards: list[Reward], audit: AuditEntry
    ) -> TransitionResult:
        REFERRALS.require(referral.status, ReferralStatus.REWARDED)
        with self.lock:
            current = self.referrals.get(referral.id)
            if current is not None and current.status is not referral.status:
                # The status condition is reported first, whatever else would also fail (as the adapter).
                return TransitionResult(applied=False, current=current)
            for reward in rewards:
                if (reward.referral_id, reward.recipient) in self.rewards:
                    raise ConditionFailed(f"reward {reward.referral_id}/{reward.recipient} already exists")
                if reward.recipient_code not in self.participants.participants:
                    raise ConditionFailed(f"no participant {reward.recipient_code}")
            result = self._transition(referral, ReferralStatus.REWARDED, {"rewarded_at": audit.at}, audit)
            if result.applied:
                for reward in rewards:
                    self.rewards[(reward.referral_id, reward.recipient)] = reward
                    recipient = self.participants.participants[reward.recipient_code]
                    if reward.status is RewardStatus.FULFILLED:  # a held one is credited when released
                        self.participants.update(
                            recipient.code, credit_balance=recipient.credit_balance + reward.amount
                        )
            return result

    def append_audit(self, entry: AuditEntry) -> None:
        with self.lock:
            self._put_audit(entry)

    def hold_reversal(self, referral: Referral, hold: HeldReversal, audit: AuditEntry) -> TransitionResult:
        """Conditional on the stored status being pending or in review (whatever the caller read), as
        the adapter."""
        with self.lock:
            current = self.referrals.get(referral.id)
            if current is None:
                raise ConditionFailed(f"no referral {referral.id}")
            if current.status not in HOLDS_REVERSALS:
                return TransitionResult(applied=False, current=current)
            held = self.holds.get(referral.id)
            if held is None or hold.supersedes(held):
                self.holds[referral.id] = hold
            self._put_audit(audit)
            return TransitionResult(applied=True, current=current)

    def held_reversal(self, referral_id: str) -> HeldReversal | None:
        with self.lock:
            return self.holds.get(referral_id)

    def mark_reversed(self, referral: Referral, reversal: Reversal, audit: AuditEntry) -> TransitionResult:
        REFERRALS.require(referral.status, ReferralStatus.REVERSED)
        with self.lock:
            reversed_fields = {"reversed_at": reversal.at, "reversed_by": reversal.signal_key}
            result = self._transition(referral, ReferralStatus.REVERSED, reversed_fields, audit)
            if result.applied:
                self.reversals[referral.id] = reversal
            return result

    def qualify_into_reversal(
        self,
        referral: Referral,
        signal_key: str,
        qualified: AuditEntry,
        reversed_: AuditEntry,
        reversal: Reversal,
    ) -> TransitionResult:
        REFERRALS.require(referral.status, ReferralStatus.QUALIFIED, ReferralStatus.REVERSED)
        with self.lock:
            current = self.referrals.get(referral.id)
            if current is None:
                raise ConditionFailed(f"no referral {referral.id}")
            if current.status is not referral.status:
                return TransitionResult(applied=False, current=current)
            updated = records.replace(
                current,
                status=ReferralStatus.REVERSED,
                qualified_at=qualified.at,
                qualified_by=signal_key,
                reversed_at=reversal.at,
                reversed_by=reversal.signal_key,
            )
            self.referrals[referral.id] = updated
            self.reversals[referral.id] = reversal
            self._put_audit(qualified)
            self._put_audit(reversed_)
            return TransitionResult(applied=True, current=updated)

    def reversal_of(self, referral_id: str) -> Reversal | None:
        with self.lock:
            return self.reversals.get(referral_id)

    # Test helper, not part of the port: puts a referral in a state no service produces yet.
    def force_status(self, referral_id: str, status: ReferralStatus) -> Referral:
        with self.lock:
            referral = records.replace(self.referrals[referral_id], status=status)
            self.referrals[referral_id] = referral
            return referral

    def _transition(
        self, referral: Referral, target: ReferralStatus, fields: dict[str, Any], audit: AuditEntry
    ) -> TransitionResult:
        """Conditional on the stored status still being the one the caller read (as the adapter).

        Each caller first checks its move against the same table as the services and the adapter
        (`REFERRALS.require`), before any other condition, as the adapter does."""
        with self.lock:
            current = self.referrals.get(referral.id)
            if current is None:
                raise ConditionFailed(f"no referral {referral.id}")
            if current.status is not referral.status:
                return TransitionResult(applied=False, current=current)
            updated = records.replace(current, status=target, **fields)
            self.referrals[referral.id] = updated
            self._put_audit(audit)
            return TransitionResult(applied=True, current=updated)

    def _put_audit(self, entry: AuditEntry) -> None:
        self.audit[(entry.referral_id, _iso(entry.at), entry.action)] = entry

    @staticmethod
    def _sort_key(referral: Referral, sort: ReferralSort) -> str:
        at = referral.joined_at if sort == "joined_at" else referral.qualified_at
        assert at is not None
        return f"{_iso(at)}#{referral.id}"


class InMemorySignalInbox:
    def __init__(self, lock: threading.RLock | None = None) -> None:
        self.lock = lock or threading.RLock()
        self.signals: dict[str, Signal] = {}  # dedupe key → first signal stored

    def accept(self, signal: Signal) -> bool:
        with self.lock:
            key = signal.dedupe_key
            if key in self.signals:
                return False
            self.signals[key] = signal
            return True


class InMemoryEventPublisher:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.published: list[ReferralQualified] = []
        self.reversals: list[ReferralReversed] = []
        self.fail_next = 0  # how many of the next publishes (of any event) raise PublishFailed

    def publish_qualified(self, event: ReferralQualified) -> None:
        with self.lock:
            self._fail_if_told()
            self.published.append(event)

    def publish_reversed(self, event: ReferralReversed) -> None:
        with self.lock:
            self._fail_if_told()
            self.reversals.append(event)

    def _fail_if_told(self) -> None:
        if self.fail_next > 0:
            self.fail_next -= 1
            raise PublishFailed("the event bus is unavailable")


class InMemoryExceptionSink:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reports: list[dict[str, Any]] = []

    def report(self, *, reason: str, message: str, payload: dict[str, Any]) -> None:
        with self.lock:
            self.reports.append({"reason": reason, "message": message, "payload": payload})


class InMemoryApiKeyStore:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.keys: dict[str, ApiKey] = {}  # key hash → key
        self.lookups = 0

    def add(self, key_hash: str, key: ApiKey) -> None:
        with self.lock:
            self.keys[key_hash] = key

    def by_hash(self, key_hash: str) -> ApiKey | None:
        with self.lock:
            self.lookups += 1
            return self.keys.get(key_hash)

    def revoke(self, key_id: str, at: datetime) -> ApiKey | None:
        with self.lock:
            for digest, key in self.keys.items():
                if key.id == key_id:
                    self.keys[digest] = replace(key, revoked_at=key.revoked_at or at)
                    return self.keys[digest]
            return None

    def page(self, *, limit: int, cursor: str | None) -> ApiKeyPage:
        with self.lock:
            ordered = sorted(self.keys.values(), key=lambda key: (key.created_at, key.id), reverse=True)
        start = int(cursor) if cursor else 0
        following = start + limit
        return ApiKeyPage(ordered[start:following], str(following) if following < len(ordered) else None)


def hold_first_reads(store: InMemoryReferralStore, parties: int) -> None:
    """Makes the next `parties` calls of `store.get` wait for one another before returning, so that
    racing threads all act on the same snapshot and only the conditional writes keep them apart."""
    barrier = threading.Barrier(parties, timeout=5)
    remaining = [parties]
    read = store.get

    def get(referral_id: str) -> Referral | None:
        referral = read(referral_id)
        with store.lock:
            remaining[0] -= 1
            wait = remaining[0] >= 0
        if wait:
            barrier.wait()
        return referral

    store.get = get  # type: ignore[method-assign]


class InMemoryBackend:
    """All the fakes, sharing one lock as the adapters share one table."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.campaigns = InMemoryCampaignStore(self.lock)
        self.participants = InMemoryParticipantStore(self.lock)
        self.referrals = InMemoryReferralStore(self.participants)
        self.signup_evidence = InMemorySignupEvidence(self.participants)
        self.inbox = InMemorySignalInbox(self.lock)
        self.publisher = InMemoryEventPublisher()
        self.exceptions = InMemoryExceptionSink()
        self.api_keys = InMemoryApiKeyStore()


class World:
    """The real services on one in-memory backend, with builders for the usual Given steps."""

    def __init__(self, backend: InMemoryBackend | None = None) -> None:
        self.backend = backend = backend or InMemoryBackend()
        self.campaigns = CampaignService(backend.campaigns, backend.participants)
        self.referrals = ReferralService(
            backend.campaigns,
            backend.participants,
            backend.referrals,
            evidence=backend.signup_evidence,
            fingerprints=lambda: None,
        )
        self.signals = SignalService(backend.campaigns, backend.referrals, backend.inbox)
        self.qualification = QualificationService(
            backend.campaigns, backend.participants, backend.referrals, backend.publisher
        )
        self.rewards = RewardService(backend.campaigns, backend.referrals)
        self.api_keys = ApiKeyService(backend.api_keys)

    def a_campaign(
        self,
        *,
        amount: str = "10",
        currency: str = "EUR",
        friend_amount: str | None = None,
        milestone: dict[str, Any] | None = None,
        landing_url: str = "https://shop.example/welcome",
    ) -> Campaign:
        reward: dict[str, Any] = {"amount": amount, "currency": currency}
        if friend_amount is not None:
            reward["friend_amount"] = friend_amount
        request: dict[str, Any] = {"name": "Spring", "landing_url": landing_url, "reward": reward}
        if milestone is not None:
            request["milestone"] = milestone
        return self.campaigns.create(NewCampaign.model_validate(request))

    def an_advocate(self, campaign: Campaign, email: str = "ann@example.com") -> Participant:
        participant, _ = self.campaigns.enrol_advocate(campaign.id, NewAdvocate(email=email))
        return participant

    def a_referral(
        self,
        advocate: Participant,
        email: str = "bob@example.com",
        external_ids: dict[str, str] | None = None,
    ) -> Referral:
        referral, _ = self.referrals.sign_up(
            NewSignup(code=advocate.code, email=email, external_ids=external_ids or {}), actor="test"
        )
        return referral

    def a_signal(
        self,
        campaign_id: str,
        match: SignalMatch,
        *,
        event_id: str = "evt-1",
        source: str = "test",
        amount: str | None = None,
        currency: str | None = None,
        occurred_at: datetime | None = None,
        kind: SignalKind = SignalKind.QUALIFY,
    ) -> Signal:
        return Signal(
            source=source,
            event_id=event_id,
            campaign_id=campaign_id,
            kind=kind,
            match=match,
            amount=None if amount is None else Decimal(amount),
            currency=currency,
            occurred_at=occurred_at,
            received_at=utcnow(),
        )

    def a_qualified_referral(self, referral: Referral) -> ReferralQualified:
        """Qualifies the referral and returns the event the qualification published."""
        self.qualification.process(
            self.a_signal(referral.campaign_id, SignalMatch(referral_id=referral.id), event_id=referral.id)
        )
        return self.backend.publisher.published[-1]

    def a_reversed_referral(self, referral: Referral) -> ReferralReversed:
        """Qualifies the referral, then refunds it; returns the `referral.reversed` event."""
        self.a_qualified_referral(referral)
        match = SignalMatch(referral_id=referral.id)
        refund = self.a_signal(
            referral.campaign_id, match, event_id=f"refund-{referral.id}", kind=SignalKind.REVERSE
        )
        self.qualification.process(refund)
        return self.backend.publisher.reversals[-1]

    def participant(self, code: str) -> Participant:
        participant = self.backend.participants.get(code)
        assert participant is not None
        return participant

    def referral(self, referral_id: str) -> Referral:
        referral = self.backend.referrals.get(referral_id)
        assert referral is not None
        return referral

    def history(self, referral_id: str) -> ReferralHistory:
        history = self.backend.referrals.history(referral_id)
        assert history is not None
        return history


if TYPE_CHECKING:  # mypy checks that each fake satisfies its port
    _campaigns: ports.CampaignStore = InMemoryCampaignStore()
    _participants: ports.ParticipantStore = InMemoryParticipantStore()
    _referrals: ports.ReferralStore = InMemoryReferralStore(InMemoryParticipantStore())
    _inbox: ports.SignalInbox = InMemorySignalInbox()
    _publisher: ports.EventPublisher = InMemoryEventPublisher()
    _exceptions: ports.ExceptionSink = InMemoryExceptionSink()
    _api_keys: ports.ApiKeyStore = InMemoryApiKeyStore()
