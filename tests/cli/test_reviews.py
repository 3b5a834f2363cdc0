"""`referrals reviews list | show | approve | reject`: the review queue from the admin CLI."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from support.events import json_body
from support.journey import create_campaign, enrol, get_referral, qualify_via_api, run_qualify, sign_up

if TYPE_CHECKING:
    from cli.conftest import Cli


def flagged(cli: Cli, advocate: str = "ada.lovelace@gmail.com") -> dict[str, Any]:
    """A self-referral by another spelling of the advocate's address, with a payment held."""
    code = enrol(create_campaign()["id"], advocate)["code"]
    local, domain = advocate.split("@")
    referral = sign_up(code, f"{local.replace('.', '')}+friend@{domain}")
    assert qualify_via_api(referral["id"], event_id="order-1")["statusCode"] == 202
    run_qualify(cli.stack)
    return referral


def review_ids(cli: Cli) -> list[str]:
    return [item["id"] for item in cli.json("reviews", "list")["items"]]


def test_list_shows_the_open_items_oldest_first_and_filters(cli: Cli) -> None:
    first, second = flagged(cli), flagged(cli, "grace.hopper@gmail.com")

    text = cli.ok("reviews", "list")
    listed = cli.json("reviews", "list", "--reason", "self_referral_email")["items"]

    assert [item["referral_id"] for item in listed] == [first["id"], second["id"]]
    assert text.splitlines()[0].split() == ["ID", "KIND", "AGE", "CAMPAIGN", "REFERRAL", "REASONS"]
    row = text.splitlines()[1].split()
    assert [row[1], *row[3:]] == ["fraud", first["campaign_id"], first["id"], "self_referral_email"]
    assert cli.ok("reviews", "list", "--older-than", "2d").strip() == "No open review items match."
    by_campaign = cli.json("reviews", "list", "--campaign", first["campaign_id"])["items"]
    assert [item["referral_id"] for item in by_campaign] == [first["id"]]


def test_show_prints_the_evidence_the_held_payment_and_the_advocate(cli: Cli) -> None:
    referral = flagged(cli)
    [review_id] = review_ids(cli)

    text = cli.ok("reviews", "show", review_id)

    assert f"Review {review_id}  fraud  open" in text
    assert f"{referral['id']}  in_review" in text
    assert "self_referral_email (review)" in text
    assert "api:order-1 (replayed when approved)" in text
    assert "signal.held_for_review" in text


def test_approve_qualifies_the_referral_with_its_held_payment(cli: Cli) -> None:
    referral = flagged(cli)
    [review_id] = review_ids(cli)

    out = cli.ok("reviews", "approve", review_id, "--reason", "a colleague, not Ada")
    run_qualify(cli.stack)

    assert out.strip() == f"approved {review_id} (referral {referral['id']})"
    assert json_body(get_referral(referral["id"]))["status"] == "qualified"
    assert review_ids(cli) == []


def test_a_second_decision_fails_with_review_decided(cli: Cli) -> None:
    flagged(cli)
    [review_id] = review_ids(cli)
    cli.ok("reviews", "reject", review_id, "--reason", "the advocate's own")

    run = cli("reviews", "approve", review_id, "--reason", "changed my mind")

    assert run.code == 1
    assert f"referrals: error: {review_id}: review_decided:" in run.err


def test_a_decision_needs_a_reason_and_an_unknown_item_fails(cli: Cli) -> None:
    assert cli("reviews", "approve", "rev_nothere").code == 2  # argparse: --reason is required
    run = cli("reviews", "reject", "rev_nothere", "--reason", "gone")
    assert run.code == 1
    assert "rev_nothere: not_found" in run.err
