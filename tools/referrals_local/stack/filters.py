"""Event patterns as Lambda event filtering and EventBridge rules evaluate them (the subset we use)."""

from __future__ import annotations

import json
from typing import Any


def matches(pattern: Any, value: Any) -> bool:
    """Nested objects must match field by field; a list of values matches any of them.

    Content filters (`{"prefix": ...}`, `{"exists": ...}`, numeric ranges) are refused loudly rather
    than silently matching too much.
    """
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(
            name in value and matches(inner, value[name]) for name, inner in pattern.items()
        )
    if isinstance(pattern, list):
        if any(isinstance(option, dict) for option in pattern):
            raise ValueError(f"content filters are not supported locally: {pattern!r}")
        return value in pattern
    raise ValueError(f"unsupported filter pattern {pattern!r}")


def filter_patterns(event_properties: dict[str, Any]) -> list[dict[str, Any]]:
    """The parsed patterns of an event source mapping's FilterCriteria (empty: no filtering)."""
    filters = event_properties.get("FilterCriteria", {}).get("Filters", [])
    return [json.loads(entry["Pattern"]) for entry in filters]


def passes(patterns: list[dict[str, Any]], record: dict[str, Any]) -> bool:
    return not patterns or any(matches(pattern, record) for pattern in patterns)
