"""Functions as the local stack reads them from the template, for tests of its triggers and gateway."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from referrals_local.stack.model import EventSpec, FunctionSpec


def http_function(name: str, *routes: tuple[str, str]) -> FunctionSpec:
    """A function the HTTP API routes (method, path) to, as the local gateway reads one."""
    return FunctionSpec(
        logical_id=name,
        name=name,
        code_dir=Path(f"/code/{name}"),
        handler="h.handler",
        timeout=3,
        memory=128,
        environment={},
        layer_dirs=(),
        log_format="JSON",
        events=tuple(
            EventSpec(f"e{i}", "HttpApi", {"Method": method, "Path": path})
            for i, (method, path) in enumerate(routes)
        ),
        event_invoke_config={},
    )


QUALIFY = replace(
    http_function("stack-QualifyFunction"),
    logical_id="QualifyFunction",
    code_dir=Path("/code/qualify"),
    handler="qualify.handler",
    timeout=60,
    memory=512,
)
