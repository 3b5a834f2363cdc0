"""A function as the local stack reads one from the template, for tests of its triggers."""

from __future__ import annotations

from pathlib import Path

from referrals_local.stack.model import FunctionSpec

QUALIFY = FunctionSpec(
    logical_id="QualifyFunction",
    name="stack-QualifyFunction",
    code_dir=Path("/code/qualify"),
    handler="qualify.handler",
    timeout=60,
    memory=512,
    environment={},
    layer_dirs=(),
    log_format="JSON",
    events=(),
    event_invoke_config={},
)
