"""Write-sharded click counters: which shard a click is counted on, and the total a reader shows.

One DynamoDB partition key takes about 1,000 writes a second; a code's clicks are spread over
CLICK_SHARDS items of their own (`CLICKS#{code}#{shard}`), so one code takes about CLICK_SHARDS times
that. Why 16, and why the participant item's own `clicks` still counts: docs/adr/0014-hot-links.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

CLICK_SHARDS = 16
# A throttled count is tried again at once on another shard (another partition key), up to this many
# shards in all: never after a backoff, which would hold the visitor's redirect.
SHARD_ATTEMPTS = 3


class Sampler(Protocol):
    def sample(self, population: Sequence[int], k: int) -> list[int]: ...


def shards_to_try(rng: Sampler) -> list[int]:
    """The shards one click may be counted on, in order: distinct, drawn uniformly at random."""
    return rng.sample(range(CLICK_SHARDS), SHARD_ATTEMPTS)


def total_clicks(on_participant: int, on_shards: Iterable[int]) -> int:
    """A code's clicks: the participant item's own counter (every click before the shards, and the
    first click of each container, which learns the landing URL from it) plus every shard's."""
    return on_participant + sum(on_shards)
