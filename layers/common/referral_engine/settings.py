"""The functions' environment, read once through one model.

A frozen dataclass rather than a pydantic model: the click path imports it, and pydantic would add
~100 ms to that function's cold start for four strings.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from functools import cache


class SettingsError(RuntimeError):
    pass


@dataclass(frozen=True)
class Settings:
    table_name: str
    event_bus_name: str = ""
    exceptions_queue_url: str = ""
    # Overrides the base URL derived from the request (custom domains, the local stack).
    public_base_url: str = ""
    # Where connection secrets live in SSM Parameter Store.
    secrets_prefix: str = "/referral-engine/connections"
    # The Secrets Manager secret the visitors' fingerprints are keyed with (docs/adr/0018); unset, no
    # fingerprint is recorded or compared.
    fingerprint_secret_id: str = ""
    # Where an unknown or malformed referral link sends the visitor (docs/adr/0023): fixed
    # configuration, never taken from the request; empty, the engine's own page at /r.
    click_fallback_url: str = ""
    # Read by Powertools in the other functions; track_click prints its metric line with them.
    powertools_service_name: str = "referral-engine"
    powertools_metrics_namespace: str = "ReferralEngine"
    # The failure queues an admin inspects (the admin function and the CLI; see services/admin_queues.py).
    qualify_failure_queue_url: str = ""
    reward_events_dlq_url: str = ""
    issue_reward_failure_queue_url: str = ""
    hook_events_dlq_url: str = ""
    announce_referrals_failure_queue_url: str = ""
    deliver_events_failure_queue_url: str = ""

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        values = {f.name: environ[f.name.upper()] for f in fields(cls) if f.name.upper() in environ}
        if not values.get("table_name"):
            raise SettingsError("TABLE_NAME is not set")
        return cls(**values)


@cache
def get_settings() -> Settings:
    return Settings.from_environ(os.environ)
