"""Known bots and link-preview fetchers, told by their user agent (docs/adr/0023).

The patterns are the `crawler-user-agents` list (github.com/monperrus/crawler-user-agents, ~1,500
patterns, released every few weeks), never a hand regex. Loading it costs ~10 ms (a 0.5 MB JSON file)
and compiling its patterns ~25 ms, so both happen on the first user agent asked about rather than at
import: the click function's cold init (ADR 0010) does not pay for them, its first click does, once.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache


@cache
def _crawler_matcher() -> Callable[[str], bool]:
    from crawleruseragents import is_crawler  # type: ignore[import-untyped]  # deferred (see above)

    matcher: Callable[[str], bool] = is_crawler
    return matcher


def is_known_bot(user_agent: str) -> bool:
    """True for a crawler, link-preview fetcher or HTTP library on the list (case-sensitive, as the
    list's patterns are written). An empty user agent is no evidence either way: not a bot."""
    return bool(user_agent) and _crawler_matcher()(user_agent)
