"""The generic hook's secrets: the signing secret a campaign may add (Standard Webhooks, docs/adr/0024)
and the hook URL itself, both rotatable; and the check of a call against the secrets in force."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from referral_engine.domain import hook_signatures
from referral_engine.domain.errors import Conflict, NotFound
from referral_engine.domain.identifiers import new_secret_token
from referral_engine.domain.models import Campaign, HookSigning, utcnow
from referral_engine.domain.records import replace
from referral_engine.ports import CampaignStore, SecretStore


class HookSigningService:
    def __init__(
        self, campaigns: CampaignStore, secrets: SecretStore, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self._campaigns = campaigns
        self._secrets = secrets  # a campaign's signing secret is stored under its id (`cmp_…`)
        self._clock = clock

    def _campaign(self, campaign_id: str) -> Campaign:
        campaign = self._campaigns.get(campaign_id)
        if campaign is None:
            raise NotFound(f"no campaign {campaign_id}")
        return campaign

    def rotate_secret(self, campaign_id: str) -> tuple[Campaign, str]:
        """A new signing secret (returned once). From now on unsigned calls are refused; the secret it
        replaces, if any, still signs for GRACE."""
        campaign = self._campaign(campaign_id)
        secret, now = hook_signatures.new_signing_secret(), self._clock()
        version = self._secrets.put(campaign.id, secret)
        before = campaign.hook_signing
        signing = HookSigning(
            version=version,
            rotated_at=now,
            previous_version=before.version if before else None,
            previous_until=now + hook_signatures.GRACE if before else None,
        )
        signed = replace(campaign, hook_signing=signing)
        if self._campaigns.replace_hook_signing(signed, trusted_version=before.version if before else None):
            return signed, secret
        if self._campaigns.get(campaign_id) is None:
            raise NotFound(f"no campaign {campaign_id}")
        raise Conflict(f"campaign {campaign_id}'s hook secret was rotated by another request: rotate again")

    def rotate_url(self, campaign_id: str) -> Campaign:
        """A new hook id: the old URL answers 404 from now on, with no grace (a leaked URL is dead)."""
        campaign = self._campaign(campaign_id)
        moved = replace(campaign, hook_id=new_secret_token())
        if self._campaigns.move_hook(moved, campaign.hook_id):
            return moved
        raise Conflict(f"campaign {campaign_id}'s hook URL was rotated by another request: rotate again")

    def verified(self, hook_id: str, headers: Mapping[str, str], body: bytes) -> tuple[Campaign, str | None]:
        """The hook's campaign and, for a signed hook, the call's `webhook-id`; NotFound for no such hook,
        WebhookRefused (401) for a signed hook's call that its secrets did not sign."""
        campaign = self._campaigns.by_hook(hook_id)
        if campaign is None:
            raise NotFound("no such webhook")
        signing = campaign.hook_signing
        if signing is None:
            return campaign, None
        now = self._clock()
        versions = [signing.version]
        if signing.previous_version is not None and signing.previous_until and now < signing.previous_until:
            versions.append(signing.previous_version)
        in_force = [secret for v in versions if (secret := self._secrets.get(campaign.id, v)) is not None]
        lowered = {name.lower(): value for name, value in headers.items()}
        return campaign, hook_signatures.verify(in_force, lowered, body, now)
