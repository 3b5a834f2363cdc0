"""The request rules the fuzzing asked for: each breach is a 422 naming the field, and writes nothing."""

from __future__ import annotations

from typing import Any, cast

import pytest

from support.aws import AwsStack
from support.events import json_body
from support.journey import (
    CAMPAIGN,
    call_api,
    create_campaign,
    enrol,
    generic_hook,
    hook_id_of,
    qualify_via_api,
    sign_up,
)

REWARD = cast(dict[str, Any], CAMPAIGN["reward"])


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"reward": {**REWARD, "friend_amonut": "10.00"}}, "reward.friend_amonut"),
        ({"milestone": {"min_amonut": "50.00"}}, "milestone.min_amonut"),
        ({"reward": {**REWARD, "currency": "ABC"}}, "reward.currency"),
        ({"reward": {**REWARD, "currency": "XAU"}}, "reward.currency"),
        ({"reward": {**REWARD, "amount": "1e1"}}, "reward.amount"),
        ({"reward": {**REWARD, "amount": " 20"}}, "reward.amount"),
        ({"reward": {**REWARD, "amount": True}}, "reward.amount"),
        ({"milestone": {"within_days": True}}, "milestone.within_days"),
        ({"reward": {**REWARD, "hold_days": "366"}}, "reward.hold_days"),
        ({"reward": {**REWARD, "hold_days": -1}}, "reward.hold_days"),
        ({"reward": {**REWARD, "hold_days": "0.0000001"}}, "reward.hold_days"),
        ({"reward": {**REWARD, "hold_days": "1e2"}}, "reward.hold_days"),
        ({"reward": {**REWARD, "hold_days": True}}, "reward.hold_days"),
        ({"landing_url": "http://localhost:8080/"}, "landing_url"),
        ({"landing_url": "https://10.0.0.7/shop"}, "landing_url"),
        ({"landing_url": "https://[::ffff:127.0.0.1]/"}, "landing_url"),
        ({"landing_url": "https://intranet/"}, "landing_url"),
        ({"landing_url": "https://shop.internal/"}, "landing_url"),
        ({"landing_url": "https://user:pw@shop.example.com/"}, "landing_url"),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_a_campaign_breaking_a_rule_is_a_422_and_writes_nothing(
    stack: AwsStack, change: dict[str, Any], field: str
) -> None:
    before = stack.items()
    response = call_api("create_campaign", body={**CAMPAIGN, **change})
    assert response["statusCode"] == 422, response
    assert field in {detail["field"] for detail in json_body(response)["error"]["details"]}
    assert stack.items() == before


def test_a_public_landing_url_by_address_or_name_is_accepted(stack: AwsStack) -> None:
    assert create_campaign(landing_url="https://93.184.215.14/welcome")["landing_url"]
    assert create_campaign(landing_url="http://shop.example.com./")["landing_url"]


@pytest.mark.parametrize("occurred_at", ["1999-12-31T23:59:59Z", "2999-01-01T00:00:00Z"])
def test_a_qualifying_event_far_from_now_is_a_422(stack: AwsStack, occurred_at: str) -> None:
    referral = sign_up(enrol(create_campaign()["id"])["code"])
    before = stack.items()
    response = qualify_via_api(referral["id"], event_id="evt-1", occurred_at=occurred_at)
    assert response["statusCode"] == 422, response
    assert stack.items() == before


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"amount": "1e3", "currency": "USD"}, "query.amount"),
        ({"amount": "10.00", "currency": "ABC"}, "query.currency"),
        ({"occurred_at": "1999-12-31T23:59:59Z"}, "query.occurred_at"),
    ],
    ids=["exponent-amount", "no-currency", "before-2000"],
)
def test_the_generic_hook_refuses_the_same_values(stack: AwsStack, query: dict[str, str], field: str) -> None:
    campaign = create_campaign()
    code = enrol(campaign["id"])["code"]
    before = stack.items()
    response = generic_hook(hook_id_of(campaign), {"code": code, "event_id": "evt-1", **query})
    assert response["statusCode"] == 422, response
    assert [detail["field"] for detail in json_body(response)["error"]["details"]] == [field]
    assert stack.items() == before
