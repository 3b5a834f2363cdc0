"""The deployment's fingerprint secret, read from Secrets Manager once per container (docs/adr/0018).

The template generates it (`GenerateSecretString`): no person ever sees or types it, and a stack's
secret is its own. Read on first use, by the functions that fingerprint (track_click and the api).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from referral_engine.domain.fingerprints import FingerprintKey


@cache
def _read(client: Any, secret_id: str) -> FingerprintKey:
    return FingerprintKey.from_text(client.get_secret_value(SecretId=secret_id)["SecretString"])


def fingerprint_key(client: Any, secret_id: str) -> FingerprintKey | None:
    """The key; None when the deployment names no secret (nothing is then fingerprinted)."""
    return _read(client, secret_id) if secret_id else None
