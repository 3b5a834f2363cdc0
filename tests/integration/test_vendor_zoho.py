"""Zoho CRM through the inbound webhook handler: a connection created over the API, the workflow
webhook's form-encoded or raw JSON parameters with the shared secret, and the whole path to the
reward — once, for the right referral."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest

from support.aws import AwsStack
from support.events import json_body
from support.journey import (
    assert_rewarded_once,
    create_campaign,
    create_connection,
    enrol,
    get_referral,
    grace_and_linus,
    post_connection,
    run_issue_reward,
    run_qualify,
    sign_up,
    vendor_hook,
)

SAMPLES = Path(__file__).resolve().parents[2] / "events" / "vendors" / "zoho"
RECORD_ID = "3652397000001234567"  # the samples' deal
FORM = {"content-type": "application/x-www-form-urlencoded"}
MILESTONE = {"field": "Stage", "value": "Closed Won"}


def form(name: str = "deal_closed_won.form", **changes: str | None) -> str:
    params = dict(parse_qsl((SAMPLES / name).read_text(), keep_blank_values=True))
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value
    return urlencode(params)


def zoho(campaign_id: str, **settings: Any) -> dict[str, Any]:
    return create_connection(campaign_id, source="zoho", milestone=MILESTONE, settings=settings)


def two_referrals(campaign_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Grace's deal is Zoho record 3652397000001234567; Linus has another record."""
    return grace_and_linus(campaign_id, "zoho", RECORD_ID, "3652397000007654321")


def test_a_closed_won_deal_qualifies_the_records_referral_once_and_rewards_it(stack: AwsStack) -> None:
    # Given a campaign, two referred friends, and a Zoho connection on "Stage is Closed Won"
    campaign = create_campaign()
    grace, linus = two_referrals(campaign["id"])
    connection = zoho(campaign["id"])
    secret = {"x-referrals-secret": connection["secret"]}

    # When the workflow rule fires, the deal is edited again (the rule fires again), and a raw JSON
    # webhook on the same rule sends it too
    first = vendor_hook(connection["hook_url"], form(), {**FORM, **secret})
    edit = vendor_hook(connection["hook_url"], form(Deal_Name="Grace Hopper - Team+"), {**FORM, **secret})
    raw_json = vendor_hook(connection["hook_url"], (SAMPLES / "deal_closed_won.json").read_text(), secret)
    qualified = run_qualify(stack)
    outcomes = run_issue_reward(stack)

    # Then one signal is stored, Grace's referral is rewarded once, Linus's is untouched
    assert [r["statusCode"] for r in (first, edit, raw_json)] == [200, 200, 200]
    assert json_body(first) == {"accepted": 1}
    assert len(stack.items_of("signal")) == 1
    assert_rewarded_once(qualified, outcomes, grace, linus)


def test_the_secret_as_a_json_body_parameter_and_matching_by_email(stack: AwsStack) -> None:
    campaign = create_campaign()
    friend = sign_up(enrol(campaign["id"])["code"], "grace@example.org")  # no Zoho id stored
    connection = zoho(campaign["id"])
    body = {"Stage": "Closed Won", "email": "Grace@Example.org", "secret": connection["secret"]}

    response = vendor_hook(connection["hook_url"], json.dumps(body))
    run_qualify(stack)
    run_issue_reward(stack)

    assert response["statusCode"] == 200
    assert json_body(get_referral(friend["id"]))["status"] == "rewarded"
    assert connection["secret"] not in json.dumps(stack.items(), default=str)


def test_the_secret_as_a_url_parameter_and_renamed_parameters(stack: AwsStack) -> None:
    campaign = create_campaign()
    friend = sign_up(enrol(campaign["id"])["code"], "grace@example.org")
    connection = zoho(campaign["id"], code="Referral_Code")
    body = urlencode({"Stage": "Closed Won", "Referral_Code": friend["referral_code"].upper()})

    response = vendor_hook(
        connection["hook_url"], body, FORM, query=urlencode({"secret": connection["secret"]})
    )
    run_qualify(stack)
    run_issue_reward(stack)

    assert response["statusCode"] == 200
    assert json_body(get_referral(friend["id"]))["status"] == "rewarded"


def test_another_stage_is_acknowledged_and_writes_nothing(stack: AwsStack) -> None:
    campaign = create_campaign()
    two_referrals(campaign["id"])
    connection = zoho(campaign["id"])
    before = stack.items()

    response = vendor_hook(
        connection["hook_url"],
        form("deal_negotiation.form"),
        {**FORM, "x-referrals-secret": connection["secret"]},
    )

    assert response["statusCode"] == 200
    assert json_body(response) == {"accepted": 0}
    assert stack.items() == before


FORGERIES: dict[str, Callable[[str], tuple[str, dict[str, str], str]]] = {
    "no secret": lambda _: (form(), FORM, ""),
    "wrong header": lambda _: (form(), {**FORM, "x-referrals-secret": "not-the-secret"}, ""),
    "wrong body parameter": lambda _: (form(secret="not-the-secret"), FORM, ""),
    "wrong url parameter": lambda _: (form(), FORM, "secret=not-the-secret"),
    "right secret, wrong header name": lambda secret: (form(), {**FORM, "x-zoho-secret": secret}, ""),
}


@pytest.mark.parametrize("forge", FORGERIES.values(), ids=FORGERIES)
def test_forged_calls_are_refused_and_write_nothing(
    stack: AwsStack, forge: Callable[[str], tuple[str, dict[str, str], str]]
) -> None:
    campaign = create_campaign()
    two_referrals(campaign["id"])
    connection = zoho(campaign["id"])
    body, headers, query = forge(connection["secret"])
    before = stack.items()

    response = vendor_hook(connection["hook_url"], body, headers, query=query)

    assert response["statusCode"] == 401
    assert json_body(response)["error"]["code"] == "signature_invalid"
    assert stack.items() == before


def test_a_misconfigured_webhook_is_a_400_that_writes_nothing(stack: AwsStack) -> None:
    """The milestone's parameter is missing: Zoho's webhook failure log shows the message."""
    campaign = create_campaign()
    connection = zoho(campaign["id"])
    before = stack.items()

    response = vendor_hook(
        connection["hook_url"], form(Stage=None), {**FORM, "x-referrals-secret": connection["secret"]}
    )

    assert response["statusCode"] == 400
    assert json_body(response)["error"]["code"] == "malformed_payload"
    assert "Stage" in json_body(response)["error"]["message"]
    assert stack.items() == before


@pytest.mark.parametrize(
    "body",
    [
        {"source": "zoho"},  # no milestone
        {"source": "zoho", "milestone": {"field": "Stage"}},
        {"source": "zoho", "milestone": MILESTONE, "settings": {"username": "x"}},
    ],
)
def test_connections_that_cannot_work_are_refused(stack: AwsStack, body: dict[str, Any]) -> None:
    campaign = create_campaign()
    before = stack.items()
    response = post_connection(campaign["id"], body)
    assert response["statusCode"] == 400
    assert stack.items() == before
