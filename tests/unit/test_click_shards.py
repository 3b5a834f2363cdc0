"""Write-sharded click counts: which shards a click tries, the total a reader shows, and the click
counter's choices when DynamoDB refuses its writes (a stub client: no AWS)."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pytest
from botocore.exceptions import ClientError

from referral_engine.adapters.dynamodb.clicks import ClickCounter, LandingTargets
from referral_engine.domain.click_shards import CLICK_SHARDS, SHARD_ATTEMPTS, shards_to_try, total_clicks


def test_a_click_tries_distinct_shards_within_range() -> None:
    rng = random.Random(7)
    for _ in range(1000):
        shards = shards_to_try(rng)
        assert len(shards) == len(set(shards)) == SHARD_ATTEMPTS
        assert all(0 <= shard < CLICK_SHARDS for shard in shards)


def test_first_choices_spread_evenly_over_every_shard() -> None:
    rng = random.Random(11)
    draws = 16_000
    firsts = Counter(shards_to_try(rng)[0] for _ in range(draws))

    assert set(firsts) == set(range(CLICK_SHARDS))
    expected = draws / CLICK_SHARDS
    assert all(abs(count - expected) < 0.15 * expected for count in firsts.values())


def test_the_total_adds_the_participant_items_own_count_to_every_shard() -> None:
    assert total_clicks(10, [1, 0, 4]) == 15
    assert total_clicks(0, []) == 0
    assert total_clicks(3, iter([2])) == 5


def test_landing_targets_forget_by_age_and_by_count() -> None:
    now = [0.0]
    targets = LandingTargets(max_codes=2, max_age_s=60, clock=lambda: now[0])
    targets.put("a", "https://a.example/")
    targets.put("b", "https://b.example/")
    assert targets.get("a") == "https://a.example/"  # a is now the most recently used
    targets.put("c", "https://c.example/")

    assert (targets.get("a"), targets.get("b"), targets.get("c")) == (
        "https://a.example/",
        None,
        "https://c.example/",
    )
    now[0] = 61
    assert targets.get("a") is None


class StubDynamoDB:
    """Answers UpdateItem and GetItem from `answers`: an error code per call in turn, or None (success)."""

    def __init__(self, *refusals: str | None, landing_url: str | None = "https://shop.example/") -> None:
        self.refusals = list(refusals)
        self.landing_url = landing_url
        self.calls: list[tuple[str, str]] = []

    def _answer(self, operation: str, key: dict[str, Any]) -> None:
        self.calls.append((operation, key["pk"]["S"]))
        code = self.refusals.pop(0) if self.refusals else None
        if code:
            raise ClientError({"Error": {"Code": code, "Message": "stub"}}, operation)

    def update_item(self, **request: Any) -> dict[str, Any]:
        self._answer("UpdateItem", request["Key"])
        return {"Attributes": {"landing_url": {"S": self.landing_url}}}

    def get_item(self, **request: Any) -> dict[str, Any]:
        self._answer("GetItem", request["Key"])
        return {"Item": {"landing_url": {"S": self.landing_url}}} if self.landing_url else {}


def counter(client: StubDynamoDB, targets: LandingTargets | None = None) -> ClickCounter:
    return ClickCounter(client, "t", targets or LandingTargets(), random.Random(3))  # type: ignore[arg-type]


THROTTLED = "ProvisionedThroughputExceededException"


def test_a_throttled_shard_is_retried_at_once_on_another() -> None:
    targets = LandingTargets()
    targets.put("abc", "https://shop.example/")
    client = StubDynamoDB(THROTTLED, "ThrottlingException", None)

    click = counter(client, targets).count("abc", "2026-01-01T00:00:00+00:00")

    assert (click.landing_url, click.lost) == ("https://shop.example/", None)
    assert [operation for operation, _ in client.calls] == ["UpdateItem"] * 3
    assert len({pk for _, pk in client.calls}) == 3


def test_a_click_lost_after_every_attempt_says_why_and_still_has_its_target() -> None:
    client = StubDynamoDB(THROTTLED, None, THROTTLED, THROTTLED, THROTTLED)

    click = counter(client).count("abc", "2026-01-01T00:00:00+00:00")

    assert (click.landing_url, click.lost) == ("https://shop.example/", THROTTLED)
    assert client.calls[:2] == [("UpdateItem", "CODE#abc"), ("GetItem", "CODE#abc")]


def test_an_error_that_may_have_written_is_not_tried_again() -> None:
    client = StubDynamoDB("InternalServerError")

    click = counter(client).count("abc", "2026-01-01T00:00:00+00:00")

    assert (click.landing_url, click.lost) == ("https://shop.example/", "InternalServerError")
    assert [operation for operation, _ in client.calls] == ["UpdateItem", "GetItem"]


@pytest.mark.parametrize("refusal", ["ConditionalCheckFailedException", THROTTLED])
def test_an_unknown_code_has_no_target_whatever_the_write_answered(refusal: str) -> None:
    client = StubDynamoDB(refusal, landing_url=None)
    targets = LandingTargets()

    assert counter(client, targets).count("nope", "2026-01-01T00:00:00+00:00").landing_url is None
    assert targets.get("nope") is None
