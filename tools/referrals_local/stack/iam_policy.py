"""IAM identity policies, compiled once and judged per request as AWS judges them (ADR 0017): an
explicit Deny wins, else any Allow, else the request is implicitly denied. Actions match without
regard to case, resources with it; `*` and `?` are IAM's wildcards in both. Conditions are not
evaluated: no policy a function gets has one, and a policy with one is refused when compiled, so a
condition can never be silently ignored."""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


class Decision(enum.Enum):
    ALLOWED = "allowed"
    IMPLICITLY_DENIED = "no identity-based policy allows"
    EXPLICITLY_DENIED = "an explicit deny in an identity-based policy"


class UnsupportedPolicy(ValueError):
    """A policy element the local evaluator does not judge (a Condition, a Principal)."""


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _glob(patterns: Iterable[str], *, ignore_case: bool) -> re.Pattern[str]:
    alternatives = "|".join(
        re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".") for pattern in patterns
    )
    return re.compile(f"(?:{alternatives})", re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


@dataclass(frozen=True)
class Statement:
    allow: bool
    actions: re.Pattern[str]
    actions_negated: bool  # NotAction
    resources: re.Pattern[str]
    resources_negated: bool  # NotResource

    @classmethod
    def compile(cls, statement: dict[str, Any]) -> Statement:
        unsupported = set(statement) & {"Condition", "Principal", "NotPrincipal"}
        if unsupported:
            raise UnsupportedPolicy(f"{', '.join(sorted(unsupported))} is not judged locally: {statement}")
        action_key = "NotAction" if "NotAction" in statement else "Action"
        resource_key = "NotResource" if "NotResource" in statement else "Resource"
        return cls(
            allow=statement["Effect"] == "Allow",
            actions=_glob(map(str, _as_list(statement[action_key])), ignore_case=True),
            actions_negated=action_key == "NotAction",
            resources=_glob(map(str, _as_list(statement[resource_key])), ignore_case=False),
            resources_negated=resource_key == "NotResource",
        )

    def applies(self, action: str, resource: str) -> bool:
        return (self.actions.fullmatch(action) is None) == self.actions_negated and (
            self.resources.fullmatch(resource) is None
        ) == self.resources_negated


@dataclass
class Policy:
    """All the identity policies of one principal, with a memo of what was decided."""

    statements: tuple[Statement, ...]
    _decided: dict[tuple[str, str], Decision] = field(default_factory=dict, repr=False)

    @classmethod
    def compile(cls, documents: Iterable[dict[str, Any]]) -> Policy:
        return cls(
            tuple(
                Statement.compile(statement)
                for document in documents
                for statement in _as_list(document["Statement"])
            )
        )

    def decide(self, action: str, resource: str) -> Decision:
        key = (action, resource)
        decision = self._decided.get(key)
        if decision is None:
            decision = self._judge(action, resource)
            if len(self._decided) < 10_000:  # one table, a few queues: a handful of pairs in practice
                self._decided[key] = decision
        return decision

    def _judge(self, action: str, resource: str) -> Decision:
        applying = [statement for statement in self.statements if statement.applies(action, resource)]
        if any(not statement.allow for statement in applying):
            return Decision.EXPLICITLY_DENIED
        return Decision.ALLOWED if applying else Decision.IMPLICITLY_DENIED
