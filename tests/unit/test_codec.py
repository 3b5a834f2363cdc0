"""The DynamoDB codec writes what boto3's TypeSerializer writes, without importing boto3."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import pytest
from boto3.dynamodb.types import TypeSerializer

from referral_engine.adapters.dynamodb.codec import from_item, to_item, value


class Colour(Enum):
    RED = "red"


SAMPLES: list[Any] = [
    None,
    True,
    False,
    0,
    -42,
    10**20,
    Decimal("12.50"),
    "",
    "referral",
    b"\x00\x01",
    {"a", "b"},
    {1, 2, 3},
    {Decimal("1.5")},
    {b"x", b"y"},
    [],
    [1, "two", None, [True]],
    {},
    {"nested": {"list": [{"n": 1}], "set": {"s"}, "flag": False}},
]


@pytest.mark.parametrize("sample", SAMPLES, ids=repr)
def test_values_serialize_as_boto3_does(sample: Any) -> None:
    expected = TypeSerializer().serialize(sample)
    written = value(sample)
    for kind in ("SS", "NS", "BS"):  # set order is not part of the contract
        if kind in expected:
            assert sorted(written[kind]) == sorted(expected[kind])
            return
    assert written == expected


def test_an_item_round_trips() -> None:
    item = {
        "pk": "REFERRAL#r1",
        "amount": Decimal("19.99"),
        "count": 3,
        "tags": {"vip", "beta"},
        "score": 0.5,  # floats are stored as exact decimals
        "created_at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        "status": Colour.RED,
        "meta": {"source": "stripe", "missing": None, "steps": [1, 2]},
        "absent": None,
    }

    assert from_item(to_item(item)) == {
        "pk": "REFERRAL#r1",
        "amount": Decimal("19.99"),
        "count": Decimal(3),
        "tags": {"vip", "beta"},
        "score": Decimal("0.5"),
        "created_at": to_item({"t": item["created_at"]})["t"]["S"],
        "status": "red",
        "meta": {"source": "stripe", "steps": [Decimal(1), Decimal(2)]},
    }


@pytest.mark.parametrize("sample", [set(), {1, "a"}, object()], ids=["empty set", "mixed set", "an object"])
def test_values_dynamodb_cannot_hold_are_refused(sample: Any) -> None:
    with pytest.raises(TypeError):
        value(sample)
