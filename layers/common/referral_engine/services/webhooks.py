"""Receiving a vendor's webhook: find the connection, verify the vendor's way, store its signals."""

from __future__ import annotations

from dataclasses import dataclass

from referral_engine.domain.errors import NotFound
from referral_engine.domain.models import Signal
from referral_engine.domain.money import check_reported_amount
from referral_engine.domain.records import replace
from referral_engine.domain.webhooks import InboundRequest, MalformedWebhook, Normalised, VendorReply
from referral_engine.ports import (
    ConnectionStore,
    CorrelationSource,
    ExceptionSink,
    SecretStore,
    SignalInbox,
    no_correlation,
)
from referral_engine.services.signals import store_or_park
from referral_engine.vendors import REDELIVERS, UnknownSource, adapter_for


class SecretMissing(RuntimeError):
    """The connection's secret cannot be read: transient (5xx) so that the vendor retries."""


@dataclass(frozen=True)
class Received:
    reply: VendorReply
    normalised: Normalised
    stored: int  # signals stored now (the others were duplicates of ones already stored)


class WebhookService:
    def __init__(
        self,
        connections: ConnectionStore,
        secrets: SecretStore,
        inbox: SignalInbox,
        correlation: CorrelationSource = no_correlation,
        parking: ExceptionSink | None = None,
    ) -> None:
        self._connections = connections
        self._secrets = secrets
        self._inbox = inbox
        self._correlation = correlation
        self._parking = parking

    def receive(self, source: str, hook_id: str, request: InboundRequest) -> Received:
        connection = self._connections.by_hook(hook_id)
        if connection is None or connection.source != source:
            raise NotFound("no such webhook")
        try:
            adapter = adapter_for(source)
        except UnknownSource:
            raise NotFound("no such webhook") from None
        secret = self._secrets.get(connection.id, connection.secret_version)
        if secret is None:
            raise SecretMissing(f"connection {connection.id} has no secret")
        adapter.verify(request, secret, connection)
        normalised = adapter.normalise(request, connection)
        for signal in normalised.signals:
            _check_amount(signal)
        correlation_id = self._correlation()
        stored = sum(
            store_or_park(
                self._inbox,
                self._parking,
                replace(signal, correlation_id=correlation_id),
                redelivered=source in REDELIVERS,
            )
            for signal in normalised.signals
        )
        return Received(adapter.reply(normalised), normalised, stored)


def _check_amount(signal: Signal) -> None:
    """An amount no purchase has (or no stored number holds) is the vendor's mistake: a 400, before
    anything is stored."""
    if signal.amount is not None:
        try:
            check_reported_amount(signal.amount)
        except ValueError as error:
            raise MalformedWebhook(f"the amount {signal.amount} is not one: {error}") from None
