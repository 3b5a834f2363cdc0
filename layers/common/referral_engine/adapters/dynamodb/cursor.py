"""Opaque pagination cursors: DynamoDB's LastEvaluatedKey, base64url-encoded JSON."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from referral_engine.domain.json_text import read_json


def encode(last_key: dict[str, Any] | None) -> str | None:
    if not last_key:
        return None
    return base64.urlsafe_b64encode(json.dumps(last_key, sort_keys=True).encode()).decode().rstrip("=")


def decode(cursor: str, *, expected: dict[str, str], key_names: set[str]) -> dict[str, str]:
    """Raises ValueError unless the cursor is one we issued for this same query."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = read_json(raw)
    except (binascii.Error, ValueError) as error:
        raise ValueError("malformed cursor") from error
    if (
        not isinstance(key, dict)
        or set(key) != key_names
        or not all(isinstance(value, str) for value in key.values())
        or any(key.get(name) != value for name, value in expected.items())
    ):
        raise ValueError("cursor does not belong to this listing")
    return key
