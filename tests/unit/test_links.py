"""The redirect target of a referral link: always the campaign's landing URL, plus `ref`."""

from __future__ import annotations

from urllib.parse import parse_qs, parse_qsl, urlsplit

from hypothesis import given, settings
from hypothesis import strategies as st

from referral_engine.domain.links import landing_with_ref


def test_adds_ref_to_a_landing_url_without_a_query() -> None:
    assert landing_with_ref("https://shop.example/welcome", "abcd2345wxyz") == (
        "https://shop.example/welcome?ref=abcd2345wxyz"
    )


def test_replaces_an_existing_ref_instead_of_adding_a_second_one() -> None:
    result = landing_with_ref("https://shop.example/?ref=old&REFX=1&ref=older", "new2345wxyz")
    assert parse_qs(urlsplit(result).query)["ref"] == ["new2345wxyz"]
    assert parse_qs(urlsplit(result).query)["REFX"] == ["1"]


def test_keeps_the_other_parameters_in_order_and_the_fragment() -> None:
    result = landing_with_ref(
        "https://shop.example/p/welcome?utm_source=mail&lang=de&empty=#pricing", "abcd2345wxyz"
    )
    parts = urlsplit(result)
    assert parse_qsl(parts.query, keep_blank_values=True) == [
        ("utm_source", "mail"),
        ("lang", "de"),
        ("empty", ""),
        ("ref", "abcd2345wxyz"),
    ]
    assert parts.fragment == "pricing"
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "shop.example", "/p/welcome")


LANDING_URLS = st.sampled_from(
    [
        "https://shop.example/welcome",
        "https://shop.example",
        "http://shop.example:8080/a/b/?x=1&ref=old#top",
        "https://sub.shop.example/path;params?q=a+b&q=c",
    ]
)


@settings(database=None, max_examples=300)
@given(landing_url=LANDING_URLS, code=st.text(max_size=80))
def test_no_code_can_change_where_the_link_goes(landing_url: str, code: str) -> None:
    # Given any landing URL of a campaign and any code at all (even hostile text)
    # When the redirect target is built
    result = landing_with_ref(landing_url, code)

    # Then it points at the same place and carries the code, intact, as `ref`
    landing, target = urlsplit(landing_url), urlsplit(result)
    assert (target.scheme, target.netloc, target.path) == (landing.scheme, landing.netloc, landing.path)
    assert target.fragment == landing.fragment
    assert [value for name, value in parse_qsl(target.query, keep_blank_values=True) if name == "ref"] == [
        code
    ]
