"""The deployment's fingerprint secret, read from Secrets Manager once per container (docs/adr/0018).

The template generates it (`GenerateSecretString`): no person ever sees or types it, and a stack's
secret is its own. Read on first use, by the functions that fingerprint (track_click and the api).

A secret that cannot be read costs the evidence, never the request: the click is redirected and the
signup judged on its other evidence (the device rules see no device). After a failed read the secret is
not asked again for RETRY_AFTER_S, so an outage costs no Secrets Manager call per request.
"""

from __future__ import annotations

import logging
import time
from functools import cache
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from referral_engine.domain.fingerprints import FingerprintKey

RETRY_AFTER_S = 60.0
logger = logging.getLogger(__name__)


class Unreadable:
    """Until when (monotonic seconds) this container goes without the key after a failed read."""

    until = 0.0


@cache
def _read(client: Any, secret_id: str) -> FingerprintKey:
    return FingerprintKey.from_text(client.get_secret_value(SecretId=secret_id)["SecretString"])


def fingerprint_key(client: Any, secret_id: str) -> FingerprintKey | None:
    """The key; None when the deployment names no secret, or while it cannot be read."""
    if not secret_id or time.monotonic() < Unreadable.until:
        return None
    try:
        return _read(client, secret_id)
    except (ClientError, BotoCoreError) as error:
        Unreadable.until = time.monotonic() + RETRY_AFTER_S
        logger.warning("no fingerprint key: going without device evidence", extra={"error": str(error)})
        return None
