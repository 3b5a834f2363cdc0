"""An email address as the person it reaches: the spellings people and their mail providers use."""

from __future__ import annotations

import pytest

from referral_engine.domain.disposable_emails import is_disposable
from referral_engine.domain.emails import canonical_domain, canonical_email, parent_domains


@pytest.mark.parametrize(
    ("spelling", "person"),
    [
        # case and stray whitespace, from a form field or a CRM export
        ("Ada@Example.com", "ada@example.com"),
        ("  ADA@EXAMPLE.COM\t", "ada@example.com"),
        # a sub-address (`+tag`) reaches the same mailbox at any provider
        ("ada+x@Example.com", "ada@example.com"),
        ("ada+referral+2@outlook.com", "ada@outlook.com"),
        ("ada+news@icloud.com", "ada@icloud.com"),
        ("ada+shop@fastmail.com", "ada@fastmail.com"),
        ("ada+@proton.me", "ada@proton.me"),
        # Gmail ignores dots, and googlemail.com is gmail.com
        ("A.D.A.Lovelace@gmail.com", "adalovelace@gmail.com"),
        ("ada.lovelace+friend@googlemail.com", "adalovelace@gmail.com"),
        ("Ada.Lovelace+Friend@GoogleMail.COM", "adalovelace@gmail.com"),
        # Proton ignores dots, hyphens and underscores, and its four domains are one account's
        ("ada.love-lace_@protonmail.com", "adalovelace@proton.me"),
        ("Ada_Lovelace+x@pm.me", "adalovelace@proton.me"),
        ("adalovelace@protonmail.ch", "adalovelace@proton.me"),
        # an internationalised domain in any of its spellings, and the DNS root dot
        ("ada@bücher.de", "ada@xn--bcher-kva.de"),
        ("ada@BÜCHER.de", "ada@xn--bcher-kva.de"),
        ("ada@xn--bcher-kva.de", "ada@xn--bcher-kva.de"),
        ("ada@example.com.", "ada@example.com"),
    ],
)
def test_spellings_of_one_mailbox_have_one_canonical_form(spelling: str, person: str) -> None:
    assert canonical_email(spelling) == person


@pytest.mark.parametrize(
    ("one", "other"),
    [
        # dots count everywhere but Gmail and Proton: Outlook's a.da and ada are two people
        ("a.da@outlook.com", "ada@outlook.com"),
        ("a.da@example.com", "ada@example.com"),
        ("a_da@gmail.com", "ada@gmail.com"),  # Gmail ignores dots only (and has no underscores)
        # hotmail.com and outlook.com, yahoo.com and ymail.com keep separate mailboxes
        ("ada@hotmail.com", "ada@outlook.com"),
        ("ada@yahoo.com", "ada@ymail.com"),
        # IDNA 2008 keeps ß (faß.de is not fass.de), unlike IDNA 2003
        ("ada@faß.de", "ada@fass.de"),
        # a Yahoo disposable address names no account
        ("ada-shop@yahoo.com", "ada@yahoo.com"),
    ],
)
def test_different_mailboxes_stay_different(one: str, other: str) -> None:
    assert canonical_email(one) != canonical_email(other)


def test_a_local_part_that_is_only_a_tag_or_only_dots_is_kept() -> None:
    assert canonical_email("+ada@example.com") == "+ada@example.com"
    assert canonical_email("...@gmail.com") == "...@gmail.com"


def test_composed_and_decomposed_unicode_local_parts_are_one_mailbox() -> None:
    composed, decomposed = "J\u00f6rg@example.de", "Jo\u0308rg@example.de"
    assert canonical_email(composed) == canonical_email(decomposed) == "j\u00f6rg@example.de"


def test_a_domain_idna_refuses_is_compared_as_lower_case_text_not_refused() -> None:
    assert canonical_domain("Bad\u200dDomain.de") == "bad\u200ddomain.de"


@pytest.mark.parametrize("not_an_address", ["", "ada", "ada@", "@example.com", "  @  "])
def test_what_is_no_address_is_refused(not_an_address: str) -> None:
    with pytest.raises(ValueError, match="not an email address"):
        canonical_email(not_an_address)


def test_a_domain_is_listed_with_every_domain_above_it_down_to_two_labels() -> None:
    assert parent_domains("a.b.example.com") == ["a.b.example.com", "b.example.com", "example.com"]
    assert parent_domains("localhost") == ["localhost"]


@pytest.mark.parametrize(
    ("domain", "listed"),
    [
        ("mailinator.com", "mailinator.com"),
        ("guerrillamail.com", "guerrillamail.com"),
        ("10minutemail.com", "10minutemail.com"),
        ("inbox.mailinator.com", "mailinator.com"),  # a subdomain of a listed service
        ("gmail.com", None),
        ("outlook.com", None),
        ("example.com", None),
    ],
)
def test_disposable_domains_come_from_the_maintained_list(domain: str, listed: str | None) -> None:
    assert is_disposable(domain) == listed
