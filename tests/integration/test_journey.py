"""The whole journey through all five functions, each handed the event the previous step produced."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

from support.aws import AwsStack
from support.events import json_body
from support.journey import (
    click,
    create_campaign,
    enrol,
    get_referral,
    qualify_via_api,
    run_issue_reward,
    run_qualify,
    sign_up,
)


def test_click_signup_qualify_reward(stack: AwsStack) -> None:
    # Given a double-sided campaign and an enrolled advocate
    campaign = create_campaign()
    advocate = enrol(campaign["id"])

    # When the friend follows the link, signs up and the business reports the paid invoice
    redirect = click(advocate["code"])
    assert redirect["statusCode"] == 302
    assert parse_qs(urlsplit(redirect["headers"]["Location"]).query)["ref"] == [advocate["code"]]
    referral = sign_up(advocate["code"])
    accepted = qualify_via_api(referral["id"], event_id="inv_1", amount="79.00", currency="USD")
    assert accepted["statusCode"] == 202

    qualified = run_qualify(stack)
    assert len(qualified["records"]) == 1  # only the signal passes the template's stream filter
    assert qualified["batchItemFailures"] == []
    outcomes = run_issue_reward(stack)

    # Then the referral is rewarded once, for both sides, and the advocate's credit shows it
    assert outcomes == [{"referral_id": referral["id"], "outcome": "issued"}]
    shown = json_body(get_referral(referral["id"]))
    assert shown["status"] == "rewarded"
    assert shown["qualified_at"]
    assert shown["rewarded_at"]
    assert sorted((r["recipient"], r["amount"], r["status"]) for r in shown["rewards"]) == [
        ("advocate", "20.00", "fulfilled"),
        ("friend", "10.00", "fulfilled"),
    ]
    advocate_item = next(i for i in stack.items_of("participant") if i["code"] == advocate["code"])
    assert advocate_item["credit_balance"] == Decimal("20.00")
    assert advocate_item["clicks"] == 1
    assert advocate_item["referrals"] == 1
    actions = [a["action"] for a in stack.items_of("audit")]
    assert sorted(actions) == ["referral.created", "referral.qualified", "referral.rewarded"]
