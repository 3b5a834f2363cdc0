"""The api function's pydantic form of the pagination query (web/paging.py), and the `Page` it answers."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from referral_engine.web.paging import CURSOR_DESCRIPTION, LIMIT_DESCRIPTION, MAX_PAGE, page_of, page_view

__all__ = ["Page", "PageQuery", "page_of", "page_view"]


class PageQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: Annotated[int, Field(ge=1, le=MAX_PAGE, description=LIMIT_DESCRIPTION)] = 50
    cursor: Annotated[
        str | None,
        Field(max_length=2048, description=CURSOR_DESCRIPTION),
    ] = None


class Page(BaseModel):
    """What a list route answers (for the OpenAPI document)."""

    items: list[dict[str, Any]]
    next_cursor: Annotated[
        str | None, Field(description="Pass it as `cursor` for the next page; null on the last page.")
    ]
