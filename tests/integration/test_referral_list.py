"""GET /v1/campaigns/{id}/referrals: sorting by joined or qualified date, status filter, pagination."""

from __future__ import annotations

from typing import Any

from support.aws import AwsStack
from support.events import json_body
from support.journey import call_api, create_campaign, enrol, qualify_via_api, run_qualify, sign_up


def listing(campaign_id: str, **query: str) -> dict[str, Any]:
    response = call_api(
        "list_referrals",
        path=f"/v1/campaigns/{campaign_id}/referrals",
        path_parameters={"campaign_id": campaign_id},
        query=query,
    )
    assert response["statusCode"] == 200, response
    return json_body(response)


def ids(page: dict[str, Any]) -> list[str]:
    return [item["id"] for item in page["items"]]


def test_sort_filter_and_paginate(stack: AwsStack) -> None:
    campaign_id = create_campaign()["id"]
    code = enrol(campaign_id)["code"]
    joined = [sign_up(code, f"friend{n}@example.org")["id"] for n in range(4)]
    # qualify the third, then the first: qualified order differs from joined order
    for referral_id in (joined[2], joined[0]):
        qualify_via_api(referral_id, event_id=f"inv-{referral_id}")
        run_qualify(stack)

    assert ids(listing(campaign_id)) == joined[::-1]
    assert ids(listing(campaign_id, order="asc")) == joined
    assert ids(listing(campaign_id, sort="qualified_at", order="asc")) == [joined[2], joined[0]]
    assert ids(listing(campaign_id, status="pending", order="asc")) == [joined[1], joined[3]]
    assert ids(listing(campaign_id, status="qualified", sort="qualified_at")) == [joined[0], joined[2]]

    first = listing(campaign_id, order="asc", limit="3")
    rest = listing(campaign_id, order="asc", limit="3", cursor=first["next_cursor"])
    assert ids(first) + ids(rest) == joined
    assert rest["next_cursor"] is None or ids(listing(campaign_id, cursor=rest["next_cursor"])) == []


def test_bad_list_parameters_are_refused(stack: AwsStack) -> None:
    campaign_id = create_campaign()["id"]
    other_id = create_campaign()["id"]
    code = enrol(other_id)["code"]
    for n in range(2):
        sign_up(code, f"f{n}@example.org")
    foreign_cursor = listing(other_id, limit="1")["next_cursor"]

    def status_of(**query: str) -> int:
        return int(
            call_api(
                "list_referrals",
                path=f"/v1/campaigns/{campaign_id}/referrals",
                path_parameters={"campaign_id": campaign_id},
                query=query,
            )["statusCode"]
        )

    assert status_of(status="lost") == 422
    assert status_of(sort="name") == 422
    assert status_of(limit="0") == 422
    assert status_of(cursor="!!!") == 400
    assert status_of(cursor=foreign_cursor) == 400
    assert (
        call_api("list_referrals", path_parameters={"campaign_id": "cmp_unknown"}, query={})["statusCode"]
        == 404
    )
