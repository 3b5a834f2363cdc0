"""Referral codes, ids and the normalisation of what we match on."""

from __future__ import annotations

import itertools
import string
from types import SimpleNamespace

import pytest

from referral_engine.domain import identifiers
from referral_engine.domain.identifiers import (
    CODE_ALPHABET,
    CODE_LENGTH,
    fingerprint,
    new_code,
    new_id,
    normalise_code,
    normalise_email,
)


def test_codes_are_twelve_characters_from_the_unambiguous_alphabet() -> None:
    # Given / When many codes are drawn
    codes = [new_code() for _ in range(2000)]

    # Then each has the fixed length, uses only the alphabet, and none repeats
    assert CODE_LENGTH == 12
    assert all(len(code) == 12 for code in codes)
    assert set("".join(codes)) <= set(CODE_ALPHABET)
    assert len(set(codes)) == len(codes)


def test_the_code_alphabet_has_no_characters_people_confuse() -> None:
    assert not set("01ilo") & set(CODE_ALPHABET)
    assert len(set(CODE_ALPHABET)) == len(CODE_ALPHABET)


def test_generated_codes_survive_normalisation_unchanged() -> None:
    code = new_code()
    assert normalise_code(code) == code


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("AbCd2345WXYZ", "abcd2345wxyz"),
        ("  abcd2345wxyz\n", "abcd2345wxyz"),
        ("\tSPRING-2024_x ", "spring-2024_x"),
        ("abcd", "abcd"),
        ("a" * 64, "a" * 64),
    ],
)
def test_normalise_code_accepts_mixed_case_and_surrounding_whitespace(raw: str, expected: str) -> None:
    assert normalise_code(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "../x",
        "../../etc/passwd",
        "<script>",
        "<script>alert(1)</script>",
        "abc",  # too short
        "a" * 65,  # too long
        "-abcdef",  # must start with a letter or digit
        "abc def",
        "abc/def",
        "abc%2fdef",
        "abc?x=1",
        "abc#frag",
        "ab\u00e9cd",
        "abcd\x00",
    ],
)
def test_normalise_code_rejects_anything_that_cannot_be_a_code(raw: str) -> None:
    assert normalise_code(raw) is None


def test_new_id_has_its_prefix_and_a_fixed_length_lower_case_body() -> None:
    value = new_id("ref")
    prefix, _, body = value.partition("_")
    assert prefix == "ref"
    assert len(body) == 26
    assert set(body) <= set(string.digits + string.ascii_lowercase)
    assert len({new_id("ref") for _ in range(1000)}) == 1000


def test_ids_sort_by_creation_time_across_milliseconds(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a clock we move forward one millisecond at a time
    millisecond = [1_700_000_000_000]
    monkeypatch.setattr(identifiers, "time", SimpleNamespace(time=lambda: (millisecond[0] + 0.5) / 1000))

    # When ids are made in successive milliseconds (several per millisecond, random parts differ)
    batches = []
    for _ in range(50):
        batches.append([new_id("ref") for _ in range(5)])
        millisecond[0] += 1

    # Then every id sorts after every id of an earlier millisecond
    for earlier, later in itertools.pairwise(batches):
        assert max(earlier) < min(later)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Ann@Example.COM", "ann@example.com"),
        ("  ann@example.com \n", "ann@example.com"),
        ("ann+tag@mail.example.co.uk", "ann+tag@mail.example.co.uk"),
    ],
)
def test_normalise_email_lowercases_and_strips(raw: str, expected: str) -> None:
    assert normalise_email(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "ann",
        "ann@",
        "@example.com",
        "ann@example",
        "ann@@example.com",
        "a nn@example.com",
        "x" * 250 + "@example.com",
    ],
)
def test_normalise_email_rejects_what_is_not_an_address(raw: str) -> None:
    with pytest.raises(ValueError, match="not a valid email"):
        normalise_email(raw)


def test_fingerprint_is_short_stable_and_does_not_reveal_the_value() -> None:
    first = fingerprint("ann@example.com")
    assert first == fingerprint("ann@example.com")
    assert first != fingerprint("bob@example.com")
    assert len(first) == 16
    assert "ann" not in first
