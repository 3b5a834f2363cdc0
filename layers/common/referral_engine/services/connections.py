"""Connections: a campaign's links to the systems that own the truth, and their secrets."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from referral_engine.domain.errors import Conflict, InvalidRequest, NotFound
from referral_engine.domain.identifiers import new_id, new_secret_token
from referral_engine.domain.models import Connection, Source, utcnow
from referral_engine.domain.records import replace
from referral_engine.domain.webhooks import VendorAdapter
from referral_engine.ports import CampaignStore, ConnectionStore, SecretStore
from referral_engine.vendors import UnknownSource, adapter_for

Secret = Annotated[str, StringConstraints(strip_whitespace=True, min_length=8, max_length=1024)]


class NewConnection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: Source
    # The vendor's own (Stripe's whsec_…, HubSpot's client secret: required), else we make one.
    secret: Secret | None = None
    milestone: dict[str, Any] = Field(
        default={}, description="The milestone in the vendor's terms, checked by its adapter (README)."
    )
    settings: dict[str, Any] = Field(
        default={},
        description="The vendor's non-secret settings, checked by its adapter (README). HubSpot, Pipedrive "
        "take `reverse_when_undone: true`: a won deal later lost (or moved off the milestone's values) "
        "reverses a qualified or rewarded referral.",
    )


class SecretRotation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    secret: Secret | None = None


class ConnectionService:
    def __init__(self, campaigns: CampaignStore, connections: ConnectionStore, secrets: SecretStore) -> None:
        self._campaigns = campaigns
        self._connections = connections
        self._secrets = secrets

    def create(self, campaign_id: str, request: NewConnection) -> tuple[Connection, str | None]:
        """Returns the connection and the secret we generated (shown once), if we generated one."""
        if self._campaigns.get(campaign_id) is None:
            raise NotFound(f"no campaign {campaign_id}")
        adapter = _adapter(request.source)
        try:
            adapter.validate_connection(request.milestone, request.settings)
        except ValueError as error:
            raise InvalidRequest(str(error)) from error
        connection_id, now = new_id("con"), utcnow()
        secret, shown = self._secret(adapter, request.secret)
        connection = Connection(
            id=connection_id,
            campaign_id=campaign_id,
            source=request.source,
            hook_id=new_secret_token(),
            milestone=request.milestone,
            settings=request.settings,
            created_at=now,
            secret_rotated_at=now,
            secret_version=self._secrets.put(connection_id, secret),
        )
        try:
            self._connections.add(connection)
        except Exception:
            self._secrets.delete(connection.id)  # no secret without its connection
            raise
        return connection, shown

    def of_campaign(self, campaign_id: str) -> list[Connection]:
        if self._campaigns.get(campaign_id) is None:
            raise NotFound(f"no campaign {campaign_id}")
        return self._connections.of_campaign(campaign_id)

    def get(self, connection_id: str) -> Connection:
        connection = self._connections.get(connection_id)
        if connection is None:
            raise NotFound(f"no connection {connection_id}")
        return connection

    def rotate_secret(self, connection_id: str, request: SecretRotation) -> tuple[Connection, str | None]:
        """The new secret takes over as soon as the connection names its version: calls signed with the
        old one are refused from then on."""
        connection = self.get(connection_id)
        secret, shown = self._secret(_adapter(connection.source), request.secret)
        version = self._secrets.put(connection.id, secret)
        rotated = replace(connection, secret_rotated_at=utcnow(), secret_version=version)
        if self._connections.replace(rotated, trusted_version=connection.secret_version):
            return rotated, shown
        if self._connections.get(connection_id) is None:
            self._secrets.delete(connection.id)  # deleted meanwhile: its secret goes with it
            raise NotFound(f"no connection {connection_id}")
        raise Conflict(f"connection {connection_id}'s secret was rotated by another request: rotate again")

    def delete(self, connection_id: str) -> None:
        connection = self.get(connection_id)
        self._connections.remove(connection)
        self._secrets.delete(connection.id)

    @staticmethod
    def _secret(adapter: VendorAdapter, given: str | None) -> tuple[str, str | None]:
        if given is not None:
            return given, None
        if adapter.vendor_issues_secret:
            raise InvalidRequest(
                f"a {adapter.source} connection needs the secret {adapter.source} gave you: "
                "paste it as `secret` (see docs/vendors)"
            )
        generated = new_secret_token(32)
        return generated, generated


def _adapter(source: str) -> VendorAdapter:
    try:
        return adapter_for(source)
    except UnknownSource:
        raise InvalidRequest(f"{source} webhooks are not available in this build") from None
