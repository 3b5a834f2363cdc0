"""Composition root: every service wired to its AWS adapters, for the Lambda functions and the CLI alike.

Each factory imports what it builds, so a function pays only for the services it uses (importing
every service and adapter here cost each cold start 20-30 ms).

`Services(settings, client)` builds them for one stack: the functions use `services()`, built once per
warm container from their environment; the `referrals` CLI builds its own from the located stack's
outputs and a client factory for its endpoint and credentials. The module-level factories below are
the functions' shorthands for `services().<name>`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cache, cached_property
from typing import TYPE_CHECKING, Any

from referral_engine import observability
from referral_engine.adapters import aws
from referral_engine.settings import Settings, get_settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_sqs import SQSClient

    from referral_engine.adapters.dynamodb.campaigns import DynamoCampaignStore
    from referral_engine.adapters.dynamodb.participants import DynamoParticipantStore
    from referral_engine.adapters.dynamodb.referrals import DynamoReferralStore
    from referral_engine.adapters.dynamodb.reviews import DynamoReviewStore
    from referral_engine.adapters.dynamodb.signals import DynamoSignalInbox
    from referral_engine.adapters.dynamodb.table import Table
    from referral_engine.adapters.eventbridge import EventBridgePublisher
    from referral_engine.adapters.sqs import SqsExceptionSink
    from referral_engine.domain.fingerprints import FingerprintKey
    from referral_engine.ports import SecretStore
    from referral_engine.services.admin_queues import AdminQueueService
    from referral_engine.services.api_keys import ApiKeyService
    from referral_engine.services.campaigns import CampaignService
    from referral_engine.services.clawbacks import ClawbackService
    from referral_engine.services.connections import ConnectionService
    from referral_engine.services.hook_signing import HookSigningService
    from referral_engine.services.qualification import QualificationService
    from referral_engine.services.referrals import ReferralService
    from referral_engine.services.releases import ReleaseService
    from referral_engine.services.reviews import ReviewService
    from referral_engine.services.rewards import RewardService
    from referral_engine.services.signals import SignalService
    from referral_engine.services.webhooks import WebhookService

ClientFactory = Callable[[str], Any]  # service name → boto3 client


class Services:
    """The services of one stack, each built on first use."""

    def __init__(
        self,
        settings: Settings,
        client: ClientFactory = aws.client,
        *,
        queue_wait_seconds: int = 1,
        answering_client: ClientFactory | None = None,
    ) -> None:
        self.settings = settings
        self._client = client
        self._answering_client = answering_client or client  # the inbox's: see aws.answering_client
        self._queue_wait_seconds = queue_wait_seconds  # > 0 long-polls: on AWS every server is asked

    # ---------------------------------------------------------------- clients and stores
    @cached_property
    def dynamodb(self) -> DynamoDBClient:
        made: DynamoDBClient = self._client("dynamodb")
        return made

    @cached_property
    def events(self) -> EventBridgeClient:
        made: EventBridgeClient = self._client("events")
        return made

    @cached_property
    def sqs(self) -> SQSClient:
        made: SQSClient = self._client("sqs")
        return made

    @cached_property
    def table(self) -> Table:
        from referral_engine.adapters.dynamodb.table import Table

        return Table(self.dynamodb, self.settings.table_name)

    @cached_property
    def inbox(self) -> DynamoSignalInbox:
        """Where webhooks store signals, through the answering client (bounded retries)."""
        from referral_engine.adapters.dynamodb.signals import DynamoSignalInbox
        from referral_engine.adapters.dynamodb.table import Table

        return DynamoSignalInbox(Table(self._answering_client("dynamodb"), self.settings.table_name))

    @cached_property
    def campaign_store(self) -> DynamoCampaignStore:
        from referral_engine.adapters.dynamodb.campaigns import DynamoCampaignStore

        return DynamoCampaignStore(self.table)

    @cached_property
    def participant_store(self) -> DynamoParticipantStore:
        from referral_engine.adapters.dynamodb.participants import DynamoParticipantStore

        return DynamoParticipantStore(self.table)

    @cached_property
    def referral_store(self) -> DynamoReferralStore:
        from referral_engine.adapters.dynamodb.referrals import DynamoReferralStore

        return DynamoReferralStore(self.table)

    @cached_property
    def review_store(self) -> DynamoReviewStore:
        """The review queue (docs/adr/0019); also the clawback service's `ReviewQueue`."""
        from referral_engine.adapters.dynamodb.reviews import DynamoReviewStore

        return DynamoReviewStore(self.table)

    @cached_property
    def publisher(self) -> EventBridgePublisher:
        from referral_engine.adapters.eventbridge import EventBridgePublisher

        return EventBridgePublisher(self.events, self.settings.event_bus_name)

    # ---------------------------------------------------------------- services
    @cached_property
    def api_keys(self) -> ApiKeyService:
        from referral_engine.adapters.dynamodb.admin_log import DynamoAdminLog
        from referral_engine.adapters.dynamodb.api_keys import DynamoApiKeyStore
        from referral_engine.services.api_keys import ApiKeyService

        return ApiKeyService(DynamoApiKeyStore(self.table), DynamoAdminLog(self.table))

    @cached_property
    def campaigns(self) -> CampaignService:
        from referral_engine.services.campaigns import CampaignService

        return CampaignService(self.campaign_store, self.participant_store)

    @cached_property
    def fingerprint_secrets(self) -> Any:
        """Without botocore's retries: a signup waits for no retried read of a key it can do without."""
        return aws.without_retries("secretsmanager")

    def fingerprint_key(self) -> FingerprintKey | None:
        from referral_engine.adapters.fingerprint_secret import fingerprint_key

        return fingerprint_key(self.fingerprint_secrets, self.settings.fingerprint_secret_id or "")

    @cached_property
    def referrals(self) -> ReferralService:
        from referral_engine.adapters.dynamodb.signup_evidence import DynamoSignupEvidence
        from referral_engine.services.referrals import ReferralService

        return ReferralService(
            self.campaign_store,
            self.participant_store,
            self.referral_store,
            observability.correlation_id,
            evidence=DynamoSignupEvidence(self.table),
            fingerprints=self.fingerprint_key,
        )

    @cached_property
    def signals(self) -> SignalService:
        from referral_engine.services.signals import SignalService

        return SignalService(
            self.campaign_store,
            self.referral_store,
            self.inbox,
            observability.correlation_id,
            self.exception_sink("inbound_webhook") if self.settings.exceptions_queue_url else None,
        )

    @cached_property
    def qualification(self) -> QualificationService:
        from referral_engine.services.qualification import QualificationService

        return QualificationService(
            self.campaign_store, self.participant_store, self.referral_store, self.publisher
        )

    @cached_property
    def rewards(self) -> RewardService:
        from referral_engine.services.rewards import RewardService

        return RewardService(self.campaign_store, self.referral_store)

    @cached_property
    def clawbacks(self) -> ClawbackService:
        from referral_engine.adapters.dynamodb.rewards import DynamoRewardLedger
        from referral_engine.services.clawbacks import ClawbackService, NoProviders

        # No reward providers until issue 12.
        return ClawbackService(
            self.referral_store, DynamoRewardLedger(self.table), NoProviders(), self.review_store
        )

    @cached_property
    def releases(self) -> ReleaseService:
        from referral_engine.adapters.dynamodb.rewards import DynamoRewardLedger
        from referral_engine.services.releases import ReleaseService

        return ReleaseService(DynamoRewardLedger(self.table), self.referral_store, self.clawbacks)

    @cached_property
    def reviews(self) -> ReviewService:
        from referral_engine.services.reviews import ReviewService

        return ReviewService(self.review_store, self.referral_store, self.participant_store)

    @cached_property
    def secrets(self) -> SecretStore:
        from referral_engine.adapters.ssm import SsmSecretStore  # only the functions that handle connections

        return SsmSecretStore(self._client("ssm"), self.settings.secrets_prefix)

    @cached_property
    def connections(self) -> ConnectionService:
        from referral_engine.adapters.dynamodb.connections import DynamoConnectionStore
        from referral_engine.services.connections import ConnectionService

        return ConnectionService(self.campaign_store, DynamoConnectionStore(self.table), self.secrets)

    @cached_property
    def hook_signing(self) -> HookSigningService:
        from referral_engine.services.hook_signing import HookSigningService

        return HookSigningService(self.campaign_store, self.secrets)

    @cached_property
    def webhooks(self) -> WebhookService:
        from referral_engine.adapters.dynamodb.connections import DynamoConnectionStore
        from referral_engine.services.webhooks import WebhookService

        return WebhookService(
            DynamoConnectionStore(self.table),
            self.secrets,
            self.inbox,
            observability.correlation_id,
            self.exception_sink("inbound_webhook") if self.settings.exceptions_queue_url else None,
        )

    def exception_sink(self, function: str) -> SqsExceptionSink:
        from referral_engine.adapters.sqs import SqsExceptionSink

        return SqsExceptionSink(self.sqs, self.settings.exceptions_queue_url, function=function)

    @cached_property
    def admin_queues(self) -> AdminQueueService:
        """Imported here: only the admin function and the CLI use it."""
        from referral_engine.adapters.dynamodb.admin_log import DynamoAdminLog
        from referral_engine.adapters.dynamodb.signals import DynamoSignalInbox
        from referral_engine.adapters.dynamodb_streams import DynamoStreamRecords
        from referral_engine.adapters.sqs import SqsQueue
        from referral_engine.services.admin_queues import AdminQueueService
        from referral_engine.services.admin_redrive import Redriver
        from referral_engine.services.announcements import (
            ReferralAnnouncer,
            ReviewAnnouncer,
            StreamAnnouncers,
        )

        settings = self.settings
        urls = {
            "qualify-failure": settings.qualify_failure_queue_url,
            "reward-events": settings.reward_events_dlq_url,
            "issue-reward-failure": settings.issue_reward_failure_queue_url,
            "hook-events": settings.hook_events_dlq_url,
            "announce-referrals-failure": settings.announce_referrals_failure_queue_url,
            "deliver-events-failure": settings.deliver_events_failure_queue_url,
            "exceptions": settings.exceptions_queue_url,
        }
        queues = {
            name: SqsQueue(self.sqs, name, url, wait_seconds=self._queue_wait_seconds)
            for name, url in urls.items()
        }
        redriver = Redriver(
            participants=self.participant_store,
            referrals=self.referral_store,
            inbox=DynamoSignalInbox(self.table),
            stream=DynamoStreamRecords(self._client("dynamodbstreams")),
            republisher=self.publisher,
            qualification=self.qualification,
            announcers=StreamAnnouncers(ReferralAnnouncer(self.publisher), ReviewAnnouncer(self.publisher)),
            bus_name=settings.event_bus_name,
        )
        return AdminQueueService(queues, redriver, DynamoAdminLog(self.table))  # type: ignore[arg-type]


@cache
def services() -> Services:
    """The functions' services, from their environment (once per warm container)."""
    # The local stack points the functions at moto, whose empty receives need no long poll.
    wait = 0 if os.environ.get("AWS_ENDPOINT_URL") else 1
    return Services(
        get_settings(), aws.client, queue_wait_seconds=wait, answering_client=aws.answering_client
    )


def table() -> Table:
    return services().table


def _campaigns() -> DynamoCampaignStore:
    return services().campaign_store


def _participants() -> DynamoParticipantStore:
    return services().participant_store


def _referrals() -> DynamoReferralStore:
    return services().referral_store


def api_keys() -> ApiKeyService:
    return services().api_keys


def campaigns() -> CampaignService:
    return services().campaigns


def referrals() -> ReferralService:
    return services().referrals


def signals() -> SignalService:
    return services().signals


def _publisher() -> EventBridgePublisher:
    return services().publisher


def qualification() -> QualificationService:
    return services().qualification


def rewards() -> RewardService:
    return services().rewards


def clawbacks() -> ClawbackService:
    return services().clawbacks


def releases() -> ReleaseService:
    return services().releases


@cache
def exception_sink(function: str) -> SqsExceptionSink:
    return services().exception_sink(function)


def _secrets() -> SecretStore:
    return services().secrets


def connections() -> ConnectionService:
    return services().connections


def webhooks() -> WebhookService:
    return services().webhooks


def hook_signing() -> HookSigningService:
    return services().hook_signing


def admin_queues() -> AdminQueueService:
    return services().admin_queues


def reviews() -> ReviewService:
    return services().reviews


# ----------------------------------------------------- subscriptions and deliveries (Zapier instant triggers)
# Imported inside the factories: only the api, announce_referrals and deliver_events functions use them.

if TYPE_CHECKING:
    from referral_engine.domain.subscriptions import TargetPolicy
    from referral_engine.services.announcements import ReferralAnnouncer, ReviewAnnouncer
    from referral_engine.services.deliveries import DeliveryService
    from referral_engine.services.subscriptions import SubscriptionService


@cache
def target_policy() -> TargetPolicy:
    """Loopback targets only when this stack itself is served from loopback (the local stack)."""
    from referral_engine.adapters.http_delivery import resolve
    from referral_engine.domain.subscriptions import TargetPolicy, is_loopback_base

    return TargetPolicy(resolve, allow_loopback=is_loopback_base(get_settings().public_base_url))


@cache
def subscriptions() -> SubscriptionService:
    from referral_engine.adapters.dynamodb.subscriptions import DynamoSubscriptionStore
    from referral_engine.services.subscriptions import SubscriptionService

    return SubscriptionService(
        _campaigns(), _participants(), _referrals(), DynamoSubscriptionStore(table()), target_policy()
    )


@cache
def event_delivery() -> DeliveryService:
    from referral_engine.adapters.dynamodb.subscriptions import DynamoDeliveryLog, DynamoSubscriptionStore
    from referral_engine.adapters.http_delivery import HttpDeliverySender
    from referral_engine.services.deliveries import DeliveryService

    return DeliveryService(
        _referrals(),
        _participants(),
        DynamoSubscriptionStore(table()),
        DynamoDeliveryLog(table()),
        HttpDeliverySender(),
        target_policy(),
    )


@cache
def stream_announcer() -> ReferralAnnouncer:
    from referral_engine.services.announcements import ReferralAnnouncer

    return ReferralAnnouncer(_publisher())


@cache
def review_announcer() -> ReviewAnnouncer:
    from referral_engine.services.announcements import ReviewAnnouncer

    return ReviewAnnouncer(_publisher())


# ------------------------------------------------------------------ Idempotency-Key answers (the /v1 POSTs)
if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer


@cache
def idempotency_records() -> DynamoDBPersistenceLayer:
    """Built on the first request that carries an `Idempotency-Key` (web/idempotency.py)."""
    from referral_engine.adapters.dynamodb.idempotency import idempotency_records as records

    return records(aws.dynamodb(), get_settings().table_name)
