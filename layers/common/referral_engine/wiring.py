"""Composition root: the services wired to their AWS adapters, built once per warm container."""

from __future__ import annotations

from functools import cache

from referral_engine import observability
from referral_engine.adapters import aws
from referral_engine.adapters.dynamodb.api_keys import DynamoApiKeyStore
from referral_engine.adapters.dynamodb.campaigns import DynamoCampaignStore
from referral_engine.adapters.dynamodb.connections import DynamoConnectionStore
from referral_engine.adapters.dynamodb.participants import DynamoParticipantStore
from referral_engine.adapters.dynamodb.referrals import DynamoReferralStore
from referral_engine.adapters.dynamodb.signals import DynamoSignalInbox
from referral_engine.adapters.dynamodb.table import Table
from referral_engine.adapters.eventbridge import EventBridgePublisher
from referral_engine.adapters.sqs import SqsExceptionSink
from referral_engine.ports import SecretStore
from referral_engine.services.api_keys import ApiKeyService
from referral_engine.services.campaigns import CampaignService
from referral_engine.services.connections import ConnectionService
from referral_engine.services.qualification import QualificationService
from referral_engine.services.referrals import ReferralService
from referral_engine.services.rewards import RewardService
from referral_engine.services.signals import SignalService
from referral_engine.services.webhooks import WebhookService
from referral_engine.settings import get_settings


@cache
def table() -> Table:
    return Table(aws.dynamodb(), get_settings().table_name)


def _campaigns() -> DynamoCampaignStore:
    return DynamoCampaignStore(table())


def _participants() -> DynamoParticipantStore:
    return DynamoParticipantStore(table())


def _referrals() -> DynamoReferralStore:
    return DynamoReferralStore(table())


@cache
def api_keys() -> ApiKeyService:
    return ApiKeyService(DynamoApiKeyStore(table()))


@cache
def campaigns() -> CampaignService:
    return CampaignService(_campaigns(), _participants())


@cache
def referrals() -> ReferralService:
    return ReferralService(_campaigns(), _participants(), _referrals(), observability.correlation_id)


@cache
def signals() -> SignalService:
    return SignalService(_campaigns(), _referrals(), DynamoSignalInbox(table()), observability.correlation_id)


@cache
def _publisher() -> EventBridgePublisher:
    return EventBridgePublisher(aws.events(), get_settings().event_bus_name)


@cache
def qualification() -> QualificationService:
    return QualificationService(_campaigns(), _participants(), _referrals(), _publisher())


@cache
def rewards() -> RewardService:
    return RewardService(_campaigns(), _referrals())


@cache
def exception_sink(function: str) -> SqsExceptionSink:
    return SqsExceptionSink(aws.sqs(), get_settings().exceptions_queue_url, function=function)


@cache
def _secrets() -> SecretStore:
    from referral_engine.adapters.ssm import SsmSecretStore  # only the functions that handle connections

    return SsmSecretStore(aws.ssm(), get_settings().secrets_prefix)


@cache
def connections() -> ConnectionService:
    return ConnectionService(_campaigns(), DynamoConnectionStore(table()), _secrets())


@cache
def webhooks() -> WebhookService:
    return WebhookService(
        DynamoConnectionStore(table()), _secrets(), DynamoSignalInbox(table()), observability.correlation_id
    )


# ----------------------------------------------------- subscriptions and deliveries (Zapier instant triggers)
# Imported inside the factories: only the api, announce_referrals and deliver_events functions use them.

from typing import TYPE_CHECKING  # noqa: E402 - this section is appended as a unit

if TYPE_CHECKING:
    from referral_engine.domain.subscriptions import TargetPolicy
    from referral_engine.services.subscriptions import (
        DeliveryService,
        ReferralAnnouncer,
        SubscriptionService,
    )


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
    from referral_engine.services.subscriptions import DeliveryService

    return DeliveryService(
        _referrals(),
        _participants(),
        DynamoSubscriptionStore(table()),
        DynamoDeliveryLog(table()),
        HttpDeliverySender(),
        target_policy(),
    )


@cache
def referral_announcer() -> ReferralAnnouncer:
    from referral_engine.services.subscriptions import ReferralAnnouncer

    return ReferralAnnouncer(_publisher())


# ------------------------------------------------------------------ Idempotency-Key answers (the /v1 POSTs)
if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer


@cache
def idempotency_records() -> DynamoDBPersistenceLayer:
    """Built on the first request that carries an `Idempotency-Key` (web/idempotency.py)."""
    from referral_engine.adapters.dynamodb.idempotency import idempotency_records as records

    return records(aws.dynamodb(), get_settings().table_name)
