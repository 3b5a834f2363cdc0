"""What the admin routes (and the `referrals` CLI, which prints the same) show of queued messages,
admin actions and API keys (JSON-ready dicts)."""

from __future__ import annotations

from typing import Any

from referral_engine.ports import ApiKey, QueueDepth
from referral_engine.services.admin_queues import ActionResult, Listed


def message_view(listed: Listed) -> dict[str, Any]:
    message, described = listed.message, listed.described
    return {
        "queue": message.queue,
        "message_id": message.message_id,
        "sent_at": message.sent_at.isoformat() if message.sent_at else None,
        "age_seconds": message.age_seconds(),
        "receive_count": message.receive_count,
        "reason": described.reason,
        "subject": described.subject,
        "payload": described.payload,
        "body": message.json_body(),
    }


def result_view(result: ActionResult) -> dict[str, Any]:
    return {
        "queue": result.queue,
        "message_id": result.message_id,
        "ok": result.ok,
        "detail": result.detail,
        "signals": result.signals,
        "referrals": result.referrals,
        "admin_log": result.admin_log,
    }


def depth_view(name: str, depth: QueueDepth) -> dict[str, Any]:
    return {"name": name, "visible": depth.visible, "in_flight": depth.in_flight}


def api_key_view(key: ApiKey, secret: str | None = None) -> dict[str, Any]:
    """Never the key or its hash, except the new key itself, once, in the answer that created it."""
    view: dict[str, Any] = {
        "id": key.id,
        "name": key.name,
        "scope": key.scope,
        "created_at": key.created_at.isoformat(),
        "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
    }
    if secret is not None:
        view["api_key"] = secret
    return view
