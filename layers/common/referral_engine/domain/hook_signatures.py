"""The generic hook's optional signature: the Standard Webhooks scheme (standardwebhooks.com), verified
with the standard library so that the webhook function loads nothing more (docs/adr/0024).

A signed call carries `webhook-id`, `webhook-timestamp` (Unix seconds) and `webhook-signature`: one or
more space-separated `v1,<base64 HMAC-SHA256>` of `{id}.{timestamp}.{body}`, keyed with the secret's
bytes (`whsec_<base64>`). The body is the request's exact bytes, checked before anything parses it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from referral_engine.domain.webhooks import StaleWebhook, WebhookRefused

SECRET_PREFIX = "whsec_"  # noqa: S105 - the scheme's prefix, no secret
TOLERANCE = timedelta(minutes=5)  # a timestamp further from our clock, either way, is refused
GRACE = timedelta(hours=24)  # how long the secret a rotation replaced still signs
WEBHOOK_ID_MAX = 190  # it becomes the signal's event id, which a reversal suffixes with `:reverse`


def new_signing_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def signature(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The `v1,…` signature of the message, as a sender computes it."""
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(_key(secret), signed, hashlib.sha256).digest()).decode()


def verify(secrets_in_force: Sequence[str], headers: Mapping[str, str], body: bytes, now: datetime) -> str:
    """The call's `webhook-id` if one of the secrets signed it; WebhookRefused (401) if not, or if its
    timestamp is more than TOLERANCE away from `now` (a replay of an old capture)."""
    webhook_id = headers.get("webhook-id", "").strip()
    stamp = headers.get("webhook-timestamp", "").strip()
    given = headers.get("webhook-signature", "")
    if not (webhook_id and stamp and given):
        raise WebhookRefused(
            "this hook is signed: send webhook-id, webhook-timestamp and webhook-signature "
            "(Standard Webhooks)"
        )
    if len(webhook_id) > WEBHOOK_ID_MAX:
        raise WebhookRefused(f"webhook-id: at most {WEBHOOK_ID_MAX} characters")
    try:
        timestamp = int(stamp)
    except ValueError:
        raise WebhookRefused("webhook-timestamp: Unix seconds") from None
    if abs(now.timestamp() - timestamp) > TOLERANCE.total_seconds():
        raise StaleWebhook("webhook-timestamp is more than 5 minutes from now")
    offered = [part.removeprefix("v1,").encode() for part in given.split() if part.startswith("v1,")]
    for secret in secrets_in_force:
        try:
            expected = signature(secret, webhook_id, timestamp, body).removeprefix("v1,").encode()
        except (binascii.Error, ValueError):
            continue  # a secret that is no base64 signs nothing
        if any(hmac.compare_digest(expected, candidate) for candidate in offered):
            return webhook_id
    raise WebhookRefused("webhook-signature does not match the body")
