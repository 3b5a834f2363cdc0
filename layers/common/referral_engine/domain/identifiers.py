"""Identifiers, referral codes and normalisation of the values we match on."""

from __future__ import annotations

import hashlib
import re
import secrets
import time

# No 0/o, 1/l/i: codes are read aloud and typed from screenshots.
CODE_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
CODE_LENGTH = 12  # 31**12 ≈ 2**59: unguessable, so codes cannot be enumerated.
_CODE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{3,63}$")
_ID_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case
_EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(raw: str) -> str | None:
    """The canonical form of a code typed or pasted by a person, or None when it cannot be one."""
    code = raw.strip().lower()
    return code if _CODE_PATTERN.fullmatch(code) else None


def new_id(prefix: str) -> str:
    """A time-ordered unique id (48-bit millisecond time + 80 random bits, ULID-like) with a type prefix."""
    value = (int(time.time() * 1000) << 80) | secrets.randbits(80)
    chars = []
    for _ in range(26):
        chars.append(_ID_ALPHABET[value & 31])
        value >>= 5
    return f"{prefix}_{''.join(reversed(chars))}"


def new_secret_token(nbytes: int = 18) -> str:
    return secrets.token_urlsafe(nbytes)


def normalise_email(raw: str) -> str:
    email = raw.strip().lower()
    if len(email) > 254 or not _EMAIL_PATTERN.fullmatch(email):
        raise ValueError("not a valid email address")
    return email


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def fingerprint(value: str) -> str:
    """A short one-way digest for logs, so that emails and IPs never appear in them."""
    return sha256_hex(value)[:16]
