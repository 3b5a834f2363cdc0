"""Text fields that are stripped before their length is checked, as a request's `name` or `reason`.

msgspec checks a `Meta(min_length=...)` on the text as sent ("  " has length 2), so such a field carries
its bounds for the JSON schema only (`text_schema`) and its record's `__post_init__` calls `strip`.
"""

from __future__ import annotations

from typing import Any

import msgspec


class FieldRefused(ValueError):
    """A record's own rule refused one of its fields. msgspec reports a `__post_init__` error without
    a path; `field` names it (the HTTP edge answers `{"field": ..., "message": ...}`)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def text_schema(min_length: int, max_length: int, **meta: Any) -> msgspec.Meta:
    """What the JSON schema says of such a field (and `title`, `description`)."""
    return msgspec.Meta(extra_json_schema={"minLength": min_length, "maxLength": max_length}, **meta)


def strip(record: Any, field: str, min_length: int, max_length: int) -> None:
    """The (frozen) record's text `field` without surrounding whitespace, its length then checked."""
    value = getattr(record, field)
    if value is None:
        return
    value = value.strip()
    if len(value) < min_length:
        raise FieldRefused(field, f"Expected `str` of length >= {min_length}")
    if len(value) > max_length:
        raise FieldRefused(field, f"Expected `str` of length <= {max_length}")
    msgspec.structs.force_setattr(record, field, value)
