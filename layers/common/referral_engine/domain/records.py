"""The engine's records: immutable msgspec structs, validated when read from outside the process.

Entities, bus events and vendor payloads are records rather than pydantic models: msgspec loads in a
few milliseconds and builds a struct in microseconds, where pydantic costs the stream, bus and
webhook functions a third of their cold init (docs/adr/0011). Pydantic stays at the HTTP edge,
where the OpenAPI document is generated from its request models.

A record is checked by `parse` (a table item, a stream image, an event's detail, a vendor's JSON);
constructed in code it is trusted, except for the invariants its `__post_init__` enforces.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar, dataclass_transform

import msgspec

Invalid = msgspec.DecodeError  # its subclass ValidationError: readable, but the wrong shape
replace = msgspec.structs.replace
T = TypeVar("T")


class _KeywordOnly(msgspec.StructMeta):
    """msgspec passes `frozen` on to subclasses but not `kw_only`: this does."""

    def __new__(mcls, name: str, bases: tuple[type, ...], namespace: dict[str, Any], **options: Any) -> Any:
        options.setdefault("kw_only", True)
        return super().__new__(mcls, name, bases, namespace, **options)


# Tells type checkers what every subclass is (the metaclass and msgspec make it so at runtime).
@dataclass_transform(kw_only_default=True, frozen_default=True, field_specifiers=(msgspec.field,))
class Record(msgspec.Struct, metaclass=_KeywordOnly, frozen=True):
    """Immutable, keyword-only; fields it does not know are ignored when it is parsed."""


def parse(kind: type[T], data: Any) -> T:
    """`data` (plain Python values, as JSON, a table item or an event detail holds them) as a `kind`.

    Lax like pydantic's default mode: "12.50" is a Decimal, "2026-01-01T00:00:00Z" a datetime.
    Raises `Invalid` with the first problem and where it is (`$.reward.amount`), never the value."""
    return msgspec.convert(data, kind, strict=False)


def decode(kind: type[T], body: bytes | str) -> T:
    """A JSON document as a `kind`; raises `Invalid` for bad JSON as well as for a bad shape (and for
    nesting deeper than the parser follows: it recurses once per level)."""
    try:
        return msgspec.json.decode(body, type=kind, strict=False)
    except RecursionError:
        raise Invalid("the JSON is nested too deeply") from None


def dump(record: Any) -> dict[str, Any]:
    """A record's fields as plain values, datetimes and Decimals kept (the table's codec writes them)."""
    values: dict[str, Any] = msgspec.to_builtins(record, builtin_types=(datetime, Decimal))
    return values


def json_values(record: Any, exclude: frozenset[str] | set[str] = frozenset()) -> dict[str, Any]:
    """A record's fields as JSON values (datetimes in RFC 3339, Decimals as strings), `exclude` left out."""
    values: dict[str, Any] = msgspec.to_builtins(record)
    return {key: value for key, value in values.items() if key not in exclude}


def to_json(record: Any) -> bytes:
    """The record as JSON: datetimes in RFC 3339, Decimals as strings (as pydantic wrote them)."""
    return msgspec.json.encode(record)


def problems(error: Invalid, whole: str = "value") -> str:
    """What is wrong, without the value (it may be personal data); `$.a.b` is written `a.b`."""
    message, _, where = str(error).partition(" - at `$")
    if message.startswith("Invalid enum value"):  # msgspec quotes the value it got
        message = "Invalid enum value"
    path = where.rstrip("`").lstrip(".")
    return f"{path or whole}: {message}"
