"""The one pagination shape of every list route: `?limit=&cursor=` in, `{"items", "next_cursor"}` out."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from referral_engine.domain.errors import InvalidRequest

MAX_PAGE = 100
Item = TypeVar("Item")


class PageQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: Annotated[int, Field(ge=1, le=MAX_PAGE, description="The most items to answer.")] = 50
    cursor: Annotated[
        str | None,
        Field(max_length=2048, description="The previous page's `next_cursor`, to read the next page."),
    ] = None


class Page(BaseModel):
    """What a list route answers (for the OpenAPI document)."""

    items: list[dict[str, Any]]
    next_cursor: Annotated[
        str | None, Field(description="Pass it as `cursor` for the next page; null on the last page.")
    ]


def page_view(items: list[dict[str, Any]], next_cursor: str | None) -> dict[str, Any]:
    return {"items": items, "next_cursor": next_cursor}


def page_of(
    items: Sequence[Item], query: PageQuery, key: Callable[[Item], str]
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
