"""The small interfaces the services need. Adapters implement them for AWS; tests use in-memory fakes."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, Protocol

from referral_engine.domain.errors import NotFound
from referral_engine.domain.events import ReferralCreated, ReferralQualified, ReferralReversed, ReviewEvent
from referral_engine.domain.fraud_evidence import Device, KnownPerson, RecentCounts
from referral_engine.domain.json_text import read_json
from referral_engine.domain.models import (
    AuditEntry,
    Campaign,
    Connection,
    Participant,
    Referral,
    ReferralStatus,
    Reward,
    Signal,
    utcnow,
)
from referral_engine.domain.records import Record
from referral_engine.domain.reversals import HeldReversal, Reversal
from referral_engine.domain.reviews import ReviewItem, ReviewKind

if TYPE_CHECKING:  # the subscription types: only the functions that deliver load domain/subscriptions.py
    from referral_engine.domain.subscriptions import Subscription, SubscriptionEvent, Target

ReferralSort = Literal["joined_at", "qualified_at"]

# The id of the request being served, for the items it writes to carry to the stream's consumers
# (observability.correlation_id on Lambda); None outside a request.
CorrelationSource = Callable[[], str | None]


def no_correlation() -> str | None:
    return None


class CodeTaken(Exception):
    """The generated referral code already exists (astronomically rare): generate another."""


class EmailTaken(Exception):
    """The campaign already has a participant with this email."""


class ExternalIdClaimed(Exception):
    """Another referral in the campaign already holds this external id."""


@dataclass(frozen=True)
class ReferralHistory:
    referral: Referral
    rewards: list[Reward] = field(default_factory=list)
    audit: list[AuditEntry] = field(default_factory=list)


@dataclass(frozen=True)
class ReferralPage:
    items: list[Referral]
    next_cursor: str | None


@dataclass(frozen=True)
class CampaignPage:
    items: list[Campaign]
    next_cursor: str | None


@dataclass(frozen=True)
class TransitionResult:
    applied: bool
    current: Referral


class CampaignStore(Protocol):
    def add(self, campaign: Campaign) -> None: ...
    def get(self, campaign_id: str) -> Campaign | None: ...
    def by_hook(self, hook_id: str) -> Campaign | None: ...

    def replace_hook_signing(self, campaign: Campaign, *, trusted_version: int | None) -> bool:
        """Stores the campaign's `hook_signing` if the stored one is still at `trusted_version` (None:
        none yet); False (nothing written) if it is gone or another rotation got there first."""

    def move_hook(self, campaign: Campaign, old_hook_id: str) -> bool:
        """Stores the campaign under its new `hook_id`, the old hook id deleted with it; False (nothing
        written) if the stored campaign no longer has `old_hook_id`."""

    def recent(self, *, limit: int, cursor: str | None) -> CampaignPage:
        """Campaigns, newest first. Raises ValueError for a cursor it did not issue."""


class ParticipantStore(Protocol):
    def add(self, participant: Participant) -> None:
        """Raises EmailTaken or CodeTaken."""

    def get(self, code: str) -> Participant | None: ...
    def by_email(self, campaign_id: str, email: str) -> Participant | None: ...

    def with_clicks(self, participant: Participant) -> Participant:
        """The participant with every click counted for its code: `get` reads only its own item,
        while the click path counts on write-sharded items too (domain/click_shards.py)."""


class SignupTrace(Record):
    """What a created referral leaves for the checks of later signups, written with it: the device
    it signed up on (kept EVIDENCE_TTL_DAYS) and one more signup in the advocate's and the network's
    velocity counters."""

    at: datetime
    device: Device | None = None


class SignupEvidence(Protocol):
    """The fraud checks' lookups at signup (docs/adr/0018): each a key read or a bounded query."""

    def known_people(self, campaign_id: str, canonical_email: str) -> list[KnownPerson]:
        """The campaign's participants whose email has this canonical form."""

    def devices_of(self, code: str) -> tuple[Device, ...]:
        """The devices the participant with this code signed up on, within the evidence's TTL."""

    def recent_counts(self, advocate_code: str, network: str | None, at: datetime) -> RecentCounts:
        """The signups so far in the hour and the day of `at`: the advocate's, and the network's."""

    def record_refusal(self, campaign_id: str, audit: AuditEntry) -> None:
        """Keeps the audit entry of a signup the fraud policy refused (nothing else is written)."""


# What recording a qualifying signal for a referral in review did: kept for the approval to replay,
# another one was kept already (only the audit entry written), or the referral left review meanwhile.
HoldOutcome = Literal["held", "kept_one_already", "not_in_review"]


class ReferralStore(Protocol):
    def add(
        self,
        referral: Referral,
        referred: Participant,
        audit: AuditEntry,
        trace: SignupTrace | None = None,
        review: ReviewItem | None = None,
    ) -> None:
        """Stores the referral, the referred person as a participant, and counts it for the advocate;
        with a trace, the evidence the next signups are checked against; with a review, the review
        item of a referral created `in_review` (docs/adr/0019).

        Raises EmailTaken, CodeTaken or ExternalIdClaimed and then writes nothing.
        """

    def get(self, referral_id: str) -> Referral | None: ...
    def history(self, referral_id: str) -> ReferralHistory | None: ...
    def by_external_id(self, campaign_id: str, external_id: str) -> Referral | None: ...
    def by_payment_id(self, campaign_id: str, payment_id: str) -> Referral | None:
        """The referral a payment (a charge, payment intent or invoice id) qualified."""

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
        """Raises ValueError for a cursor it did not issue."""

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
        """pending → qualified, exactly once; otherwise returns the referral as it is. The qualifying
        payment's ids are kept on it, and each finds it again (`by_payment_id`); `milestone_at` is when
        the qualifying event happened.

        Not applied either while a reversal is held on the referral, unless it is `despite` (one the
        caller has read and found not to undo this payment): the referral is then returned `pending`.
        """

    def record_rewards(
        self, referral: Referral, rewards: list[Reward], audit: AuditEntry
    ) -> TransitionResult:
        """qualified → rewarded together with the rewards (held or credited: adapters/dynamodb/rewards.py),
        exactly once."""

    def append_audit(self, entry: AuditEntry) -> None: ...

    def hold_reversal(self, referral: Referral, hold: HeldReversal, audit: AuditEntry) -> TransitionResult:
        """Keeps a reversal on a referral that is still `pending` (with its audit entry), unless one that
        happened later is held already (then only the audit entry is written); applied either way.
        Not applied when the referral is no longer pending: it is returned as it is."""

    def held_reversal(self, referral_id: str) -> HeldReversal | None: ...

    def mark_reversed(self, referral: Referral, reversal: Reversal, audit: AuditEntry) -> TransitionResult:
        """qualified or rewarded (the status read) → reversed, keeping `reversal` on it, exactly once;
        otherwise returns the referral as it is. Rewards already issued stay as they are."""

    def qualify_into_reversal(
        self,
        referral: Referral,
        signal_key: str,
        qualified: AuditEntry,
        reversed_: AuditEntry,
        reversal: Reversal,
    ) -> TransitionResult:
        """pending → qualified (by `signal_key`) → reversed (by a held reversal) in one write, with both
        audit entries, exactly once; otherwise returns the referral as it is."""

    def reversal_of(self, referral_id: str) -> Reversal | None:
        """What reversed the referral, if anything did."""

    def hold_for_review(self, referral: Referral, signal: Signal, audit: AuditEntry) -> HoldOutcome:
        """Keeps a qualifying signal on a referral still `in_review` (with its audit entry), for an
        approval to replay; one signal at most per referral (a later one only leaves its audit entry)."""


@dataclass(frozen=True)
class ReviewPage:
    items: list[ReviewItem]
    next_cursor: str | None


class ReviewQueue(Protocol):
    """What the clawback service asks of the review queue (docs/adr/0019)."""

    def open_clawback(self, referral: Referral, reward: Reward, reason: str) -> None:
        """Opens a `clawback` review item for a reward that could not be taken back, with an audit
        entry saying why; once per reward, however often it is asked."""


class ReviewStore(ReviewQueue, Protocol):
    def get(self, review_id: str) -> ReviewItem | None: ...

    def page(
        self,
        *,
        campaign_id: str | None,
        kind: ReviewKind | None,
        reason: str | None,
        opened_before: datetime | None,
        limit: int,
        cursor: str | None,
    ) -> ReviewPage:
        """Open items, oldest first. Raises ValueError for a cursor it did not issue."""

    def oldest_open(self) -> ReviewItem | None: ...

    def held_signal(self, referral_id: str) -> Signal | None:
        """The qualifying signal kept while the referral was in review (`hold_for_review`)."""

    def decide(
        self,
        decided: ReviewItem,
        audit: AuditEntry,
        *,
        reward: tuple[Reward, Reward] | None = None,
        held: Signal | None = None,
        replay: Signal | None = None,
    ) -> None:
        """One transaction: the item (still open) decided, the referral's or reward's move its
        decision makes (a fraud item: the audit's from/to status; a clawback: `reward` before and
        after, conditioned on the status before), the audit entry; with `replay`, the held signal
        (`held`, still the one kept) put into the signal inbox as a new signal. Raises ReviewDecided
        when the item was decided meanwhile, DecideAgain when a signal was kept meanwhile or another
        transaction wrote the same items at the same moment, and
        Conflict when the referral or reward is no longer where the decision moves it from."""

    def advocate_referrals(self, campaign_id: str, advocate_code: str, *, limit: int) -> list[Referral]:
        """The advocate's most recent referrals in the campaign (among its latest signups)."""


class DecideAgain(RuntimeError):
    """What the decision read has moved (a signal was kept or replayed meanwhile, or another transaction
    wrote the same items at that moment): read again and decide again."""


@dataclass(frozen=True)
class RewardWrite:
    """What a reward's conditional move did: applied; or not, because the reward had moved on (`current`,
    read again; None if it is gone) or because its referral was reversed (`referral_reversed`)."""

    applied: bool
    current: Reward | None
    referral_reversed: bool = False


class RewardLedger(Protocol):
    """Rewards after their issue: the release index, their moves and the participants' balances."""

    def due(self, now: datetime, *, limit: int) -> list[Reward]:
        """Up to `limit` rewards on the release index due by `now`, the earliest first."""

    def of_referral(self, referral_id: str) -> list[Reward]: ...

    def move(
        self,
        reward: Reward,
        moved: Reward,
        audit: AuditEntry,
        *,
        credit: Decimal | None = None,
        unless_reversed: bool = False,
    ) -> RewardWrite:
        """`reward` (the status read) → `moved`, with the audit entry and, when `credit` is set, that
        amount added to the recipient's balance (negative: a debit), in one conditional write; off the
        release index once it leaves it. `unless_reversed`: not while the referral is reversed."""


class RewardProviders(Protocol):
    """The providers that hand out rewards other than account credits (gift cards, payouts: issue 12)."""

    def cancel(self, reward: Reward) -> bool:
        """Takes back a reward its provider handed out (idempotent); False when it cannot (redeemed)."""


class InboxUnavailable(RuntimeError):
    """The inbox could not store a signal, its client's retries spent (throttled, failing, timing out)."""


class SignalInbox(Protocol):
    def accept(self, signal: Signal) -> bool:
        """Stores the signal durably; False when (source, event id) was already stored. Raises
        InboxUnavailable when the store cannot be reached."""


class EventPublisher(Protocol):
    """Puts the event on the bus; raises when it was not accepted, so that the caller is retried."""

    def publish_qualified(self, event: ReferralQualified) -> None: ...
    def publish_reversed(self, event: ReferralReversed) -> None: ...


class CreatedEventPublisher(Protocol):
    """As EventPublisher, for the `referral.created` announcement (one adapter implements both)."""

    def publish_created(self, event: ReferralCreated) -> None: ...


class ReviewEventPublisher(Protocol):
    """`referral.in_review`, `.approved`, `.rejected` (docs/adr/0019), announced from the stream."""

    def publish_review(self, event: ReviewEvent) -> None: ...


class ExceptionSink(Protocol):
    def report(self, *, reason: str, message: str, payload: dict[str, Any]) -> None:
        """Keeps a record that can never be processed where an admin can see and redrive it."""


class ConnectionStore(Protocol):
    def add(self, connection: Connection) -> None: ...
    def get(self, connection_id: str) -> Connection | None: ...
    def by_hook(self, hook_id: str) -> Connection | None: ...
    def of_campaign(self, campaign_id: str) -> list[Connection]: ...
    def replace(self, connection: Connection, *, trusted_version: int | None) -> bool:
        """Overwrites a stored connection that still trusts `trusted_version` (the secret version read
        before); False (nothing written) if it is gone or another rotation got there first."""

    def remove(self, connection: Connection) -> None: ...


class SecretStore(Protocol):
    """Connection secrets, kept out of the table (SSM Parameter Store SecureString on AWS), versioned:
    a connection names the version it trusts, so a rotation locks the old secret out at once."""

    def get(self, connection_id: str, version: int | None) -> str | None:
        """That version of the secret (the latest if None); None if there is no such secret."""

    def put(self, connection_id: str, secret: str) -> int:
        """Stores a new version of the secret and returns its version number."""

    def delete(self, connection_id: str) -> None: ...


ApiKeyScope = Literal["server", "admin", "publishable"]


@dataclass(frozen=True)
class ApiKey:
    """What is kept about a key besides its hash; the key itself is shown once and never stored."""

    id: str
    name: str
    scope: ApiKeyScope
    created_at: datetime
    revoked_at: datetime | None = None


@dataclass(frozen=True)
class ApiKeyPage:
    items: list[ApiKey]
    next_cursor: str | None


class ApiKeyStore(Protocol):
    def add(self, key_hash: str, key: ApiKey) -> None: ...

    def by_hash(self, key_hash: str) -> ApiKey | None:
        """The key stored under this hash, revoked or not; None for an unknown hash."""

    def revoke(self, key_id: str, at: datetime) -> ApiKey | None:
        """Marks the key revoked (a revoked key keeps its first `revoked_at`); None for an unknown id."""

    def page(self, *, limit: int, cursor: str | None) -> ApiKeyPage:
        """Keys, newest first. Raises ValueError for a cursor it did not issue."""


# ----------------------------------------------------- subscriptions and deliveries (Zapier instant triggers)


class SubscriptionStore(Protocol):
    def add(self, subscription: Subscription) -> bool:
        """Stores it; False (and nothing written) when a subscription with its id already exists."""

    def get(self, subscription_id: str) -> Subscription | None: ...

    def remove(self, subscription_id: str) -> bool:
        """Deletes it; False when there was none."""

    def matching(self, event: SubscriptionEvent, campaign_id: str) -> list[Subscription]:
        """The subscriptions to `event` for this campaign and those for every campaign."""


class DeliveryLog(Protocol):
    """Which (subscription, event) deliveries a target has already acknowledged, so that a retry of the
    event does not post again to the targets that took it the first time."""

    def delivered(self, delivery_id: str) -> bool: ...
    def record(self, delivery_id: str, subscription_id: str, status: int) -> None: ...


class DeliveryFailed(Exception):
    """The request did not get an HTTP answer (connection refused, timeout, TLS error)."""


class DeliverySender(Protocol):
    def post(self, target: Target, body: bytes, headers: Mapping[str, str]) -> int:
        """POSTs to the vetted target and returns the HTTP status; never follows redirects.

        Raises DeliveryFailed when there is no answer.
        """


# ------------------------------------------------------------------ admin: queues, stream, admin log, keys
# What services/admin*.py and services/api_keys.py need; adapters in adapters/sqs.py,
# adapters/dynamodb_streams.py, adapters/eventbridge.py and adapters/dynamodb/.


class MessageNotFound(NotFound):
    """No message with this id is (visible) in the queue."""


class StreamRecordsGone(RuntimeError):
    """The stream records a failure record points at can no longer be read (DynamoDB keeps 24 hours)."""


@dataclass(frozen=True)
class QueuedMessage:
    queue: str
    message_id: str
    body: str
    receipt_handle: str = field(repr=False)
    sent_at: datetime | None = None
    receive_count: int = 0
    attributes: dict[str, str] = field(default_factory=dict)  # the message attributes (string values)

    def json_body(self) -> Any:
        """The body parsed as JSON, or the raw text when it is not JSON."""
        try:
            return read_json(self.body)
        except ValueError:
            return self.body

    def age_seconds(self, now: datetime | None = None) -> float | None:
        if self.sent_at is None:
            return None
        return max(0.0, ((now or utcnow()) - self.sent_at).total_seconds())


@dataclass(frozen=True)
class QueueDepth:
    visible: int
    in_flight: int


class MessageQueue(Protocol):
    """One SQS queue an admin looks into. Nothing is consumed by looking; a taken message stays hidden
    until it is deleted or released."""

    def depth(self) -> QueueDepth: ...

    def peek(self) -> list[QueuedMessage]:
        """Every message in the queue, oldest first; all of them stay in the queue, visible."""

    def take(self, message_id: str) -> QueuedMessage:
        """The message with this id, hidden while the caller acts on it. Raises MessageNotFound."""

    def take_all(self) -> list[QueuedMessage]:
        """Every visible message, each hidden while the caller acts on it."""

    def release(self, messages: list[QueuedMessage]) -> None:
        """Makes taken messages visible again at once."""

    def delete(self, message: QueuedMessage) -> None: ...


class StreamRecords(Protocol):
    def inserted(self, pointers: dict[str, Any], entity: str) -> list[dict[str, Any]]:
        """The new images (plain values) of the `entity` items inserted by the table stream's records a
        stream OnFailure record's `DDBStreamBatchInfo` points at. Raises StreamRecordsGone once the
        records expired, and ValueError for pointers that are not usable."""

    def modified(self, pointers: dict[str, Any], entity: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """As `inserted`, the (old, new) images of the `entity` items those records modified."""


class EventRepublisher(Protocol):
    def republish(self, event: dict[str, Any]) -> None:
        """Puts an EventBridge event (`source`, `detail-type`, `detail`) back on the bus as it was.
        Raises RuntimeError when the bus refuses it."""


@dataclass(frozen=True)
class AdminAction:
    """An admin's decision, kept in the admin log: on a queued message (`queue`, `message_id`, `body`),
    or on an API key (`message_id` is the key's id)."""

    action: Literal["redrive", "discard", "api_key.create", "api_key.revoke"]
    queue: str | None
    message_id: str
    body: str
    operator: str
    at: datetime
    reason: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AdminLogPage:
    items: list[dict[str, Any]]
    next_cursor: str | None


class AdminLog(Protocol):
    def record(self, action: AdminAction) -> dict[str, str]:
        """Stores the action; returns its key (`pk`, `sk`)."""

    def page(self, *, limit: int, cursor: str | None) -> AdminLogPage:
        """Recorded actions, newest first. Raises ValueError for a cursor it did not issue."""
