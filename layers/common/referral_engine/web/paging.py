"""The one pagination shape of every list route: `?limit=&cursor=` in, `{"items", "next_cursor"}` out.

Without pydantic (the admin function's routes read their query into `Paging`, docs/adr/0011);
web/pages.py holds the api function's pydantic form of the same query and the `Page` it documents.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Protocol, TypeVar

import msgspec

from referral_engine.domain.errors import InvalidRequest
from referral_engine.domain.records import Record

MAX_PAGE = 100
LIMIT_DESCRIPTION = "The most items to answer."
CURSOR_DESCRIPTION = "The previous page's `next_cursor`, to read the next page."
Item = TypeVar("Item")


class PageRequest(Protocol):
    @property
    def limit(self) -> int: ...

    @property
    def cursor(self) -> str | None: ...


class Paging(Record):
    """A list route's query (unknown parameters are ignored, as the resolver ignored them)."""

    limit: Annotated[int, msgspec.Meta(ge=1, le=MAX_PAGE, title="Limit", description=LIMIT_DESCRIPTION)] = 50
    cursor: Annotated[
        Annotated[str, msgspec.Meta(max_length=2048)] | None,
        msgspec.Meta(title="Cursor", description=CURSOR_DESCRIPTION),
    ] = None


def page_view(items: list[dict[str, Any]], next_cursor: str | None) -> dict[str, Any]:
    return {"items": items, "next_cursor": next_cursor}


def page_of(
    items: Sequence[Item], query: PageRequest, key: Callable[[Item], str]
) -> tuple[list[Item], str | None]:
    """One page of a listing read whole (a campaign's few connections); the cursor names the last item
    answered, by `key`."""
    start = 0
    if query.cursor is not None:
        keys = [key(item) for item in items]
        try:
            start = keys.index(_decode(query.cursor)) + 1
        except ValueError as error:
            raise InvalidRequest("the cursor is not valid") from error
    page = list(items[start : start + query.limit])
    more = start + query.limit < len(items)
    return page, _encode(key(page[-1])) if more else None


def _encode(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def _decode(cursor: str) -> str:
    """Raises ValueError (binascii.Error, UnicodeDecodeError) for a cursor we did not make."""
    return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
