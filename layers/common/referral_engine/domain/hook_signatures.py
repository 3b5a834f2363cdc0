"""The generic hook's optional signature: the Standard Webhooks scheme (standardwebhooks.com), checked
with its official library (docs/adr/0024).

A signed call carries `webhook-id`, `webhook-timestamp` (Unix seconds) and `webhook-signature`: one or
more space-separated `v1,<base64 HMAC-SHA256>` of `{id}.{timestamp}.{body}`, keyed with the secret's
bytes (`whsec_<base64>`). The body is the request's exact bytes, checked before anything parses it.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from referral_engine.domain.webhooks import StaleWebhook, WebhookRefused

SECRET_PREFIX = "whsec_"  # noqa: S105 - the scheme's prefix, no secret
TOLERANCE = timedelta(minutes=5)  # the library's too: a timestamp further from now, either way, is refused
GRACE = timedelta(hours=24)  # how long the secret a rotation replaced still signs
WEBHOOK_ID_MAX = 190  # it becomes the signal's event id, which a reversal suffixes with `:reverse`


def new_signing_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def verify(secrets_in_force: Sequence[str], headers: Mapping[str, str], body: bytes, now: datetime) -> str:
    """The call's `webhook-id` if one of the secrets signed it; WebhookRefused (401) if not, StaleWebhook
    if its timestamp is more than TOLERANCE from `now` (a replay of an old capture). `headers` are
    named in lower case."""
    webhook_id = headers.get("webhook-id", "").strip()
    stamp = headers.get("webhook-timestamp", "").strip()
    if not (webhook_id and stamp and headers.get("webhook-signature")):
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
    for secret in secrets_in_force:
        try:
            Webhook(secret).verify(body, dict(headers), json_parse=False)
        except (WebhookVerificationError, ValueError):  # ValueError: a secret that is no base64
            continue
        return webhook_id
    raise WebhookRefused("webhook-signature does not match the body")
