"""Pipedrive through the inbound webhook handler: a connection created over the API, Pipedrive's own
payloads with its HTTP Basic auth, and the whole path to the reward — once, for the right referral."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

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

SAMPLES = Path(__file__).resolve().parents[2] / "events" / "vendors" / "pipedrive"
USERNAME = "referrals"
PERSON_ID = "3311"  # the samples' deal 1042 belongs to person 3311
CODE_FIELD = "7c1e9f0a2b3d4c5e6f708192a3b4c5d6e7f80912"


def sample(name: str) -> str:
    return (SAMPLES / f"{name}.json").read_text()


def edited(name: str, section: str, **changes: Any) -> str:
    body = json.loads(sample(name))
    body[section] = {**body[section], **changes}
    return json.dumps(body)


def basic(password: str, username: str = USERNAME) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


def pipedrive(campaign_id: str, milestone: dict[str, Any] | None = None, **settings: Any) -> dict[str, Any]:
    """A connection as the README says: the generated secret is the webhook's HTTP Auth password."""
    return create_connection(
        campaign_id,
        source="pipedrive",
        milestone=milestone or {"status": "won"},
        settings={"username": USERNAME, **settings},
    )


def two_referrals(campaign_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Grace is Pipedrive person 3311; Linus is another person."""
    return grace_and_linus(campaign_id, "pipedrive", PERSON_ID, "4400")


def test_a_won_deal_qualifies_the_persons_referral_once_and_rewards_it(stack: AwsStack) -> None:
    # Given a campaign, two referred friends, and a Pipedrive connection on "deal won"
    campaign = create_campaign()
    grace, linus = two_referrals(campaign["id"])
    connection = pipedrive(campaign["id"])
    assert connection["hook_url"].split("/hooks/")[1].startswith("pipedrive/")

    # When Pipedrive delivers the win (v2), retries it, and an older v1 webhook sends it too
    auth = basic(connection["secret"])
    first = vendor_hook(connection["hook_url"], sample("deal_won_v2"), auth)
    retry = vendor_hook(connection["hook_url"], edited("deal_won_v2", "meta", attempt=2), auth)
    v1 = vendor_hook(connection["hook_url"], sample("deal_updated_v1"), auth)
    qualified = run_qualify(stack)
    outcomes = run_issue_reward(stack)

    # Then one signal is stored, Grace's referral is rewarded once, Linus's is untouched
    assert [r["statusCode"] for r in (first, retry, v1)] == [200, 200, 200]
    assert json_body(first) == {"accepted": 1}
    assert len(stack.items_of("signal")) == 1
    assert_rewarded_once(qualified, outcomes, grace, linus)


def test_a_deal_reaching_the_milestone_stage_qualifies_and_later_moves_change_nothing(
    stack: AwsStack,
) -> None:
    campaign = create_campaign()
    grace, _ = two_referrals(campaign["id"])
    connection = pipedrive(campaign["id"], {"stage_id": 5})
    auth = basic(connection["secret"])

    reached = vendor_hook(connection["hook_url"], sample("deal_stage_changed_v2"), auth)
    went_back = vendor_hook(connection["hook_url"], edited("deal_stage_changed_v2", "data", stage_id=4), auth)
    run_qualify(stack)
    run_issue_reward(stack)

    assert (reached["statusCode"], went_back["statusCode"]) == (200, 200)
    assert json_body(went_back) == {"accepted": 0}
    assert json_body(get_referral(grace["id"]))["status"] == "rewarded"  # "stage went back" undoes nothing


def test_a_won_deal_short_of_the_minimum_counts_once_its_value_is_corrected(stack: AwsStack) -> None:
    campaign = create_campaign(milestone={"min_amount": "1500.00", "currency": "USD"})
    grace, _ = two_referrals(campaign["id"])
    connection = pipedrive(campaign["id"])
    auth = basic(connection["secret"])

    short = vendor_hook(connection["hook_url"], sample("deal_won_v2"), auth)  # won at 1200 USD
    retried = vendor_hook(connection["hook_url"], edited("deal_won_v2", "meta", attempt=2), auth)
    run_qualify(stack)
    assert json_body(get_referral(grace["id"]))["status"] == "pending"

    corrected = vendor_hook(connection["hook_url"], edited("deal_won_v2", "data", value=1800), auth)
    run_qualify(stack)
    run_issue_reward(stack)

    assert [json_body(r) for r in (short, retried, corrected)] == [{"accepted": 1}] * 3
    assert len(stack.items_of("signal")) == 2  # the retry was the same event; the correction is not
    assert json_body(get_referral(grace["id"]))["status"] == "rewarded"


def test_a_referral_code_in_a_custom_deal_field_matches(stack: AwsStack) -> None:
    campaign = create_campaign()
    friend = sign_up(enrol(campaign["id"])["code"], "ada.friend@example.org")  # no Pipedrive id stored
    connection = pipedrive(campaign["id"], code_field=CODE_FIELD)
    body = json.loads(sample("deal_won_v2"))
    body["data"]["custom_fields"][CODE_FIELD]["value"] = friend["referral_code"]

    response = vendor_hook(connection["hook_url"], json.dumps(body), basic(connection["secret"]))
    run_qualify(stack)
    run_issue_reward(stack)

    assert response["statusCode"] == 200
    assert json_body(get_referral(friend["id"]))["status"] == "rewarded"


@pytest.mark.parametrize("name", ["deal_created_v2", "deal_stage_changed_v2", "person_changed_v2"])
def test_events_short_of_the_milestone_are_acknowledged_and_write_nothing(stack: AwsStack, name: str) -> None:
    campaign = create_campaign()
    two_referrals(campaign["id"])
    connection = pipedrive(campaign["id"])
    before = stack.items()

    response = vendor_hook(connection["hook_url"], sample(name), basic(connection["secret"]))

    assert response["statusCode"] == 200  # anything else and Pipedrive retries, then bans the webhook
    assert json_body(response) == {"accepted": 0}
    assert stack.items() == before


def test_a_won_deal_of_someone_who_is_no_referral_is_kept_for_an_admin(stack: AwsStack) -> None:
    campaign = create_campaign()
    two_referrals(campaign["id"])
    connection = pipedrive(campaign["id"])
    stranger = edited("deal_won_v2", "data", person_id=5150)

    response = vendor_hook(connection["hook_url"], stranger, basic(connection["secret"]))
    run_qualify(stack)

    assert response["statusCode"] == 200
    [reported] = stack.exceptions()
    assert reported["reason"] == "unmatched_signal"
    assert reported["payload"]["signal"]["event_id"] == "deal-1042-won@1200USD"


FORGERIES: dict[str, Callable[[str], dict[str, str]]] = {
    "no credentials": lambda _: {},
    "wrong password": lambda _: basic("not-the-password"),
    "wrong username": lambda password: basic(password, username="intruder"),
    "password as a bearer token": lambda password: {"authorization": f"Bearer {password}"},
}


@pytest.mark.parametrize("forge", FORGERIES.values(), ids=FORGERIES)
def test_forged_calls_are_refused_and_write_nothing(
    stack: AwsStack, forge: Callable[[str], dict[str, str]]
) -> None:
    campaign = create_campaign()
    two_referrals(campaign["id"])
    connection = pipedrive(campaign["id"])
    before = stack.items()

    response = vendor_hook(connection["hook_url"], sample("deal_won_v2"), forge(connection["secret"]))

    assert response["statusCode"] == 401
    assert json_body(response)["error"]["code"] == "signature_invalid"
    assert stack.items() == before


@pytest.mark.parametrize(
    "body",
    [
        {"source": "pipedrive", "milestone": {"status": "won"}},  # no username
        {"source": "pipedrive", "milestone": {"status": "lost"}, "settings": {"username": "r"}},
        {"source": "pipedrive", "milestone": {}, "settings": {"username": "r"}},
    ],
)
def test_connections_that_cannot_work_are_refused(stack: AwsStack, body: dict[str, Any]) -> None:
    campaign = create_campaign()
    before = stack.items()
    response = post_connection(campaign["id"], body)
    assert response["statusCode"] == 400
    assert stack.items() == before
