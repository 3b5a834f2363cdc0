"""Reading outside JSON: text nested deeper than the parsers recurse is invalid JSON, not a crash."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from referral_engine.adapters.dynamodb import cursor
from referral_engine.domain.json_text import TooDeep, read_json
from referral_engine.domain.records import Invalid, Record, decode

DEEP = "[" * 100_000 + "]" * 100_000


class Call(Record):
    data: Any = None


def test_deep_nesting_is_a_value_error_like_any_bad_json() -> None:
    with pytest.raises(TooDeep):
        read_json(DEEP)
    assert issubclass(TooDeep, ValueError)
    assert read_json('{"a": [1, 2.5]}') == {"a": [1, 2.5]}
    with pytest.raises(ValueError, match="utf-8"):
        read_json(b'{"a": "\xff"}')


def test_a_record_refuses_deep_nesting_as_invalid() -> None:
    with pytest.raises(Invalid, match="nested too deeply"):
        decode(Call, '{"data": ' + DEEP + "}")


def test_a_cursor_encoding_deep_nesting_is_malformed() -> None:
    deep_cursor = base64.urlsafe_b64encode(("[" * 1500).encode()).decode()
    with pytest.raises(ValueError, match="malformed cursor"):
        cursor.decode(deep_cursor, expected={}, key_names={"pk", "sk"})
    issued = cursor.encode({"pk": {"S": "a"}, "sk": {"S": "b"}})
    assert issued is not None
    assert json.loads(base64.urlsafe_b64decode(issued + "==")) is not None
