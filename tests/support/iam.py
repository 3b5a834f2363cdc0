"""A function's role with one permission taken away, as if template.yaml had not granted it: how the
tests show that the local AWS endpoint refuses what a role lacks (ADR 0017)."""

from __future__ import annotations

import json
from pathlib import Path

from referrals_local.stack.iam_roles import ROLES_FILE


def roles_file(state_dir: Path) -> Path:
    return state_dir / ROLES_FILE


def revoke(path: Path, function: str, action: str) -> None:
    """Removes `action` from every statement of `function`'s role in the roles file (the endpoint
    reads the file again on its next request)."""
    roles = json.loads(path.read_text(encoding="utf-8"))
    for role in roles:
        if role["function"] != function:
            continue
        for document in role["policies"].values():
            for statement in document["Statement"]:
                actions = (
                    statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                )
                statement["Action"] = [kept for kept in actions if kept != action] or ["none:None"]
    write(path, json.dumps(roles))


def write(path: Path, text: str) -> None:
    partial = path.with_suffix(".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)  # whole, never half: the endpoint may read it at any moment
