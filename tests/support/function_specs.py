"""A function as the local stack reads one from the template, for tests of its triggers."""

from __future__ import annotations

from pathlib import Path

from referrals_local.stack.model import EventSpec, FunctionSpec

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
