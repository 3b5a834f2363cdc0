"""The server API handler with HTTP API v2 events: contract, auth, validation, nothing written on errors."""

from __future__ import annotations

import pytest

from support.aws import AwsStack
from support.events import json_body
from support.journey import CAMPAIGN, call_api, create_campaign, enrol, qualify_via_api, sign_up


def test_create_campaign_returns_its_hook_url_and_stores_it(stack: AwsStack) -> None:
    response = call_api("create_campaign", body=CAMPAIGN)

    assert response["statusCode"] == 201
    campaign = json_body(response)
    assert campaign["id"].startswith("cmp_")
    assert campaign["hook_url"].startswith(
        "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/hooks/generic/"
    )
    assert campaign["reward"] == {
        "amount": "20.00",
        "currency": "USD",
        "friend_amount": "10.00",
        "hold_days": "0",  # no hold: rewards are credited at once
    }
    assert "hook_id" not in campaign
    assert json_body(call_api("get_campaign", path_parameters={"campaign_id": campaign["id"]})) == campaign
    assert [i["entity"] for i in stack.items()].count("hook") == 1


def test_public_base_url_overrides_the_request_host(stack: AwsStack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://refer.example.com/")
    from referral_engine.settings import get_settings

    get_settings.cache_clear()
    advocate = enrol(create_campaign()["id"])
    assert advocate["share_url"] == f"https://refer.example.com/r/{advocate['code']}"


@pytest.mark.parametrize(
    "headers",
    [
        {"authorization": "Bearer rk_wrong"},
        {"authorization": "Basic dXNlcjpwYXNz"},
        {"authorization": "Bearer "},
        {"authorization": ""},
    ],
)
def test_bad_api_key_is_refused_and_writes_nothing(stack: AwsStack, headers: dict[str, str]) -> None:
    before = stack.items()
    response = call_api("create_campaign", body=CAMPAIGN, headers=headers)

    assert response["statusCode"] == 401
    assert response["headers"]["WWW-Authenticate"] == "Bearer"
    assert json_body(response)["error"]["code"] == "unauthorized"
    assert stack.items() == before


def test_missing_authorization_header_is_refused(stack: AwsStack) -> None:
    from api import handler
    from support.events import LambdaContext, http_event

    event = http_event("api/create_campaign", body=CAMPAIGN, drop_headers=("authorization",))
    assert handler(event, LambdaContext())["statusCode"] == 401


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ("{not json", 400, "invalid_json"),
        ("[1, 2]", 400, "invalid_json"),
        ({**CAMPAIGN, "reward": {"amount": "20", "currency": "usd"}}, 422, "validation_error"),
        ({**CAMPAIGN, "reward": {"amount": "-1", "currency": "USD"}}, 422, "validation_error"),
        ({**CAMPAIGN, "landing_url": "javascript:alert(1)"}, 422, "validation_error"),
        ({**CAMPAIGN, "landing_url": "https://user:pw@example.com/"}, 422, "validation_error"),
        ({**CAMPAIGN, "surprise": True}, 422, "validation_error"),
        ({"name": "x" * 20_000}, 413, "payload_too_large"),
    ],
)
def test_bad_campaign_bodies_get_a_clear_4xx_and_write_nothing(
    stack: AwsStack, body: object, status: int, code: str
) -> None:
    before = stack.items()
    response = call_api("create_campaign", body=body)

    assert response["statusCode"] == status
    assert json_body(response)["error"]["code"] == code
    assert stack.items() == before


def test_validation_errors_name_the_fields(stack: AwsStack) -> None:
    response = call_api("create_campaign", body={"name": "x"})
    fields = {detail["field"] for detail in json_body(response)["error"]["details"]}
    assert fields == {"landing_url", "reward"}


def test_base64_encoded_bodies_are_decoded(stack: AwsStack) -> None:
    response = call_api("create_campaign", body=CAMPAIGN, base64_body=True)
    assert response["statusCode"] == 201


def test_unknown_campaign_and_route_are_404(stack: AwsStack) -> None:
    assert call_api("get_campaign", path_parameters={"campaign_id": "cmp_nope"})["statusCode"] == 404
    response = call_api("get_campaign", path="/v1/nowhere", path_parameters={})
    assert response["statusCode"] == 404
    assert json_body(response)["error"]["code"] == "not_found"


def test_same_email_enrols_once_with_the_same_code(stack: AwsStack) -> None:
    campaign_id = create_campaign()["id"]
    first = call_api(
        "enrol_advocate", path_parameters={"campaign_id": campaign_id}, body={"email": "Ada@Example.com"}
    )
    again = call_api(
        "enrol_advocate", path_parameters={"campaign_id": campaign_id}, body={"email": " ada@example.COM "}
    )

    assert (first["statusCode"], again["statusCode"]) == (201, 200)
    assert json_body(first)["code"] == json_body(again)["code"]
    assert json_body(first)["share_url"].endswith(f"/r/{json_body(first)['code']}")
    assert len(stack.items_of("participant")) == 1


def test_enrolling_into_an_unknown_campaign_is_404_and_writes_nothing(stack: AwsStack) -> None:
    before = stack.items()
    response = call_api("enrol_advocate", path_parameters={"campaign_id": "cmp_x"}, body={"email": "a@b.co"})
    assert response["statusCode"] == 404
    assert stack.items() == before


def test_signup_is_attributed_and_the_friend_gets_their_own_code(stack: AwsStack) -> None:
    campaign = create_campaign()
    advocate = enrol(campaign["id"])

    response = call_api("sign_up", body={"code": advocate["code"].upper(), "email": "grace@example.org"})

    assert response["statusCode"] == 201
    referral = json_body(response)
    assert referral["status"] == "pending"
    assert referral["advocate"] == {"code": advocate["code"]}
    assert referral["referral_code"] not in (None, advocate["code"])
    assert referral["campaign_id"] == campaign["id"]


def test_the_same_friend_twice_keeps_the_first_referral(stack: AwsStack) -> None:
    campaign = create_campaign()
    first_advocate = enrol(campaign["id"], "ada@example.com")
    second_advocate = enrol(campaign["id"], "alan@example.com")
    first = sign_up(first_advocate["code"], "grace@example.org")

    again = call_api("sign_up", body={"code": second_advocate["code"], "email": "Grace@example.org"})

    assert again["statusCode"] == 200
    assert json_body(again)["id"] == first["id"]
    assert json_body(again)["advocate"]["code"] == first_advocate["code"]
    assert len(stack.items_of("referral")) == 1
    counts = {i["code"]: i.get("referrals", 0) for i in stack.items_of("participant")}
    assert counts[first_advocate["code"]] == 1
    assert counts[second_advocate["code"]] == 0


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"code": "zzzzzzzzzzzz", "email": "grace@example.org"}, 404, "not_found"),
        ({"code": "../../etc", "email": "grace@example.org"}, 404, "not_found"),
        ({"code": "ADVOCATE", "email": "not-an-email"}, 422, "validation_error"),
        ({"code": "ADVOCATE", "email": "grace@example.org", "ip": "203.0.113.300"}, 422, "validation_error"),
        ({"code": "ADVOCATE", "email": "grace@example.org", "ip": "81.2.69.160:80"}, 422, "validation_error"),
        ({"code": "ADVOCATE", "email": "grace@example.org", "fraud": {}}, 422, "validation_error"),
        ({"code": "ADVOCATE"}, 422, "validation_error"),
    ],
)
def test_bad_signups_write_nothing(stack: AwsStack, body: dict[str, str], status: int, code: str) -> None:
    advocate = enrol(create_campaign()["id"], "ada@example.com")
    body = {k: advocate["code"] if v == "ADVOCATE" else v for k, v in body.items()}
    before = stack.items()

    response = call_api("sign_up", body=body)

    assert response["statusCode"] == status
    assert json_body(response)["error"]["code"] == code
    assert stack.items() == before


def test_an_existing_advocate_cannot_be_signed_up_as_referred(stack: AwsStack) -> None:
    campaign = create_campaign()
    ada = enrol(campaign["id"], "ada@example.com")
    enrol(campaign["id"], "alan@example.com")
    response = call_api("sign_up", body={"code": ada["code"], "email": "alan@example.com"})
    assert response["statusCode"] == 409
    assert json_body(response)["error"]["code"] == "already_participant"


def test_an_external_id_belongs_to_one_referral(stack: AwsStack) -> None:
    advocate = enrol(create_campaign()["id"])
    sign_up(advocate["code"], "one@example.org", external_ids={"stripe": "cus_1"})
    before = stack.items()
    response = call_api(
        "sign_up",
        body={"code": advocate["code"], "email": "two@example.org", "external_ids": {"stripe": "cus_1"}},
    )
    assert response["statusCode"] == 409
    assert json_body(response)["error"]["code"] == "external_id_taken"
    assert stack.items() == before


def test_qualify_of_an_unknown_referral_is_404_and_writes_nothing(stack: AwsStack) -> None:
    before = stack.items()
    response = qualify_via_api("ref_unknown", event_id="e1")
    assert response["statusCode"] == 404
    assert stack.items() == before


def test_qualify_dedupes_on_the_callers_event_id(stack: AwsStack) -> None:
    referral = sign_up(enrol(create_campaign()["id"])["code"])
    first = json_body(qualify_via_api(referral["id"], event_id="inv_9"))
    again = json_body(qualify_via_api(referral["id"], event_id="inv_9"))
    other = json_body(qualify_via_api(referral["id"], event_id="inv_10"))

    assert (first["duplicate"], again["duplicate"], other["duplicate"]) == (False, True, False)
    assert first["signal_id"] == "api:inv_9"
    assert len(stack.items_of("signal")) == 2


def test_a_time_without_a_zone_is_refused(stack: AwsStack) -> None:
    referral = sign_up(enrol(create_campaign()["id"])["code"])
    before = stack.items()
    response = qualify_via_api(referral["id"], occurred_at="2026-11-01T10:00:00")
    assert response["statusCode"] == 422
    assert stack.items() == before
