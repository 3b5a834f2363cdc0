"""Printing for the CLI: aligned tables and key/value blocks for people, JSON for scripts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import IO, Any


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def to_json(value: Any, *, one_line: bool = False) -> str:
    if one_line:
        return json.dumps(value, default=_default, ensure_ascii=False)
    return json.dumps(value, indent=2, default=_default, ensure_ascii=False)


def when(value: datetime | str | None) -> str:
    """A time to the second, e.g. 2026-11-23 20:15:05Z."""
    if value is None or value == "":
        return "-"
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    return at.strftime("%Y-%m-%d %H:%M:%SZ")


def age(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    whole = int(seconds)
    for unit, size, smaller, smaller_size in (
        ("d", 86400, "h", 3600),
        ("h", 3600, "m", 60),
        ("m", 60, "s", 1),
    ):
        if whole >= size:
            rest = (whole % size) // smaller_size
            return f"{whole // size}{unit}" + (f" {rest}{smaller}" if rest else "")
    return f"{whole}s"


def clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


class Printer:
    def __init__(self, out: IO[str], *, json_mode: bool) -> None:
        self.out = out
        self.json_mode = json_mode

    def line(self, text: str = "") -> None:
        print(text, file=self.out)

    def json(self, value: Any) -> None:
        print(to_json(value), file=self.out)

    def fields(self, pairs: Sequence[tuple[str, Any]], indent: int = 2) -> None:
        """`label   value` lines, labels aligned."""
        shown = [(label, "-" if value is None or value == "" else str(value)) for label, value in pairs]
        width = max((len(label) for label, _ in shown), default=0)
        for label, value in shown:
            print(f"{' ' * indent}{label.ljust(width)}  {value}", file=self.out)

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[Any]], indent: int = 0) -> None:
        """Columns as wide as their widest cell; nothing at all is printed for no rows."""
        cells = [[("-" if cell is None or cell == "" else str(cell)) for cell in row] for row in rows]
        widths = [max([len(h)] + [len(row[i]) for row in cells]) for i, h in enumerate(headers)]
        pad = " " * indent
        print(
            pad + "  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip(),
            file=self.out,
        )
        for row in cells:
            print(
                pad + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip(), file=self.out
            )
