"""What the HTTP API shows of each entity (JSON-ready dicts)."""

from __future__ import annotations

from typing import Any

from referral_engine.domain.models import Campaign, Connection, Participant, Referral, Reward
from referral_engine.domain.records import json_values
from referral_engine.ports import ReferralHistory


def campaign_view(campaign: Campaign, base: str, hook_secret: str | None = None) -> dict[str, Any]:
    """The hook URL is a secret for servers; the hook's signing secret is shown once, in the answer that
    made it (docs/adr/0024)."""
    signing = campaign.hook_signing
    view = {
        **json_values(campaign, exclude={"hook_id", "hook_signing"}),
        "hook_url": f"{base}/hooks/generic/{campaign.hook_id}",
        "hook_signing": None
        if signing is None
        else {
            "rotated_at": json_values(signing)["rotated_at"],
            "previous_secret_valid_until": json_values(signing).get("previous_until"),
        },
    }
    if hook_secret is not None:
        view["hook_secret"] = hook_secret
    return view


def share_url(base: str, code: str) -> str:
    return f"{base}/r/{code}"


def participant_view(participant: Participant, base: str) -> dict[str, Any]:
    return {
        **json_values(participant, exclude={"landing_url", "referral_id"}),
        "share_url": share_url(base, participant.code),
    }


def referral_view(referral: Referral, base: str) -> dict[str, Any]:
    return {
        "id": referral.id,
        "campaign_id": referral.campaign_id,
        "status": referral.status.value,
        "advocate": {"code": referral.advocate_code},
        "referred": {
            "email": referral.referred_email,
            "name": referral.referred_name,
            "external_ids": referral.external_ids,
        },
        "referral_code": referral.referred_code,
        "share_url": share_url(base, referral.referred_code),
        "joined_at": referral.joined_at.isoformat(),
        "qualified_at": referral.qualified_at.isoformat() if referral.qualified_at else None,
        "rewarded_at": referral.rewarded_at.isoformat() if referral.rewarded_at else None,
        "reversed_at": referral.reversed_at.isoformat() if referral.reversed_at else None,
    }


def reward_view(reward: Reward) -> dict[str, Any]:
    return json_values(reward, exclude={"referral_id", "campaign_id"})


def history_view(history: ReferralHistory, base: str) -> dict[str, Any]:
    return {
        **referral_view(history.referral, base),
        "rewards": [reward_view(reward) for reward in history.rewards],
    }


def connection_view(connection: Connection, base: str, secret: str | None = None) -> dict[str, Any]:
    """Never the secret, except the one we generated, once, in the answer that created it."""
    view = {
        **json_values(connection, exclude={"hook_id"}),
        "hook_url": f"{base}/hooks/{connection.source}/{connection.hook_id}",
    }
    if secret is not None:
        view["secret"] = secret
    return view
