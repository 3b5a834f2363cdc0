"""Where a running stack's resources are: the local stack's state file, or a deployed stack's outputs.

Both give the keys of template.yaml's `Outputs`, so the admin CLI works the same against either.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from referrals_local.template import REPO_ROOT

STATE_DIR = REPO_ROOT / ".referrals-local"
OUTPUTS_FILE = "outputs.json"


# template.yaml's Outputs → StackOutputs fields
OUTPUT_KEYS = {
    "ApiUrl": "api_url",
    "TableName": "table_name",
    "EventBusName": "event_bus_name",
    "QualifyFailureQueueUrl": "qualify_failure_queue_url",
    "ExceptionsQueueUrl": "exceptions_queue_url",
    "RewardEventsDLQUrl": "reward_events_dlq_url",
    "IssueRewardFailureQueueUrl": "issue_reward_failure_queue_url",
    "HookEventsDLQUrl": "hook_events_dlq_url",
    "AnnounceReferralsFailureQueueUrl": "announce_referrals_failure_queue_url",
    "DeliverEventsFailureQueueUrl": "deliver_events_failure_queue_url",
}


class StackNotFound(RuntimeError):
    pass


@dataclass(frozen=True)
class StackOutputs:
    api_url: str
    table_name: str
    event_bus_name: str
    qualify_failure_queue_url: str
    exceptions_queue_url: str
    reward_events_dlq_url: str
    issue_reward_failure_queue_url: str
    hook_events_dlq_url: str
    announce_referrals_failure_queue_url: str
    deliver_events_failure_queue_url: str
    region: str
    # Only for the local stack: the moto endpoint, and the server and admin API keys it was started with.
    endpoint_url: str | None = None
    api_key: str | None = None
    admin_api_key: str | None = None

    def write(self, state_dir: Path = STATE_DIR) -> Path:
        state_dir.mkdir(parents=True, exist_ok=True)
        path = state_dir / OUTPUTS_FILE
        partial = path.with_suffix(".partial")
        partial.write_text(json.dumps(asdict(self), indent=2) + "\n")
        partial.chmod(0o600)  # it holds the local API keys
        partial.replace(path)  # readers never see a half-written file
        return path

    @classmethod
    def read_local(cls, state_dir: Path = STATE_DIR) -> StackOutputs:
        path = state_dir / OUTPUTS_FILE
        try:
            return cls(**json.loads(path.read_text()))
        except FileNotFoundError:
            raise StackNotFound(
                f"no local stack is running ({path} does not exist): start it with `make run`"
            ) from None

    @classmethod
    def from_cloudformation(cls, outputs: list[dict[str, Any]], region: str) -> StackOutputs:
        """From `describe_stacks(...)["Stacks"][0]["Outputs"]` of a deployed stack."""
        values = {item["OutputKey"]: item["OutputValue"] for item in outputs}
        missing = sorted(set(OUTPUT_KEYS) - set(values))
        if missing:
            raise StackNotFound(f"the stack has no outputs {missing}: is it a referral-engine stack?")
        return cls(region=region, **{field: values[key] for key, field in OUTPUT_KEYS.items()})
