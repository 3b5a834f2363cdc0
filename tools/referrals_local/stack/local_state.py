"""What `make run` keeps under its state directory between runs (ADR 0013): the AWS endpoint's
snapshot and the API keys it printed, so the keys a developer copied still work after a restart."""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

from referrals_local.stack.moto_state import write_atomically

SNAPSHOT_FILE = "aws-state.snapshot"
KEYS_FILE = "api-keys.json"


def snapshot_path(state_dir: Path) -> Path:
    return state_dir / SNAPSHOT_FILE


def reset(state_dir: Path) -> None:
    """Forgets the kept data (logs stay): the next start is a fresh stack with new keys."""
    for name in (SNAPSHOT_FILE, KEYS_FILE):
        (state_dir / name).unlink(missing_ok=True)


@dataclass(frozen=True)
class LocalKeys:
    api_key: str
    admin_api_key: str

    @classmethod
    def choose(cls, state_dir: Path, *, api_key: str | None, admin_api_key: str | None) -> LocalKeys:
        """The keys given (REFERRALS_API_KEY, REFERRALS_ADMIN_KEY), else the last run's, else new
        ones; remembered for the next run."""
        stored = cls._read(state_dir)
        keys = cls(
            api_key=api_key or (stored.api_key if stored else f"rk_local_{secrets.token_urlsafe(24)}"),
            admin_api_key=admin_api_key
            or (stored.admin_api_key if stored else f"rk_admin_{secrets.token_urlsafe(24)}"),
        )
        if keys != stored:
            state_dir.mkdir(parents=True, exist_ok=True)
            write_atomically(state_dir / KEYS_FILE, json.dumps(asdict(keys), indent=2).encode() + b"\n")
        return keys

    @classmethod
    def _read(cls, state_dir: Path) -> LocalKeys | None:
        try:
            return cls(**json.loads((state_dir / KEYS_FILE).read_text()))
        except FileNotFoundError:
            return None
