"""HubSpot through the inbound webhook handler: a connection created over the API with the app's client
secret, batches and workflow calls signed by HubSpot's own SDK, and the whole path to the reward."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from hubspot.utils.signature import Signature  # type: ignore[import-untyped]

from support.aws import AwsStack, reset_caches
from support.events import json_body
from support.journey import (
    assert_rewarded_once,
    create_campaign,
    create_connection,
    enrol,
    get_referral,
    post_connection,
    run_issue_reward,
    run_qualify,
    sign_up,
    vendor_hook,
)

SAMPLES = Path(__file__).resolve().parents[2] / "events" / "vendors" / "hubspot"
CLIENT_SECRET = "3c9a1f5e-2b7d-4e8a-9c61-0d4f2e7b8a15"
CONTACT_ID = "1246965"
OTHER_CONTACT_ID = "1246978"
CUSTOMER = {"object": "contact", "property": "lifecyclestage", "value": "customer"}
DEAL_WON = {"object": "deal", "property": "dealstage", "value": "closedwon"}


def now_ms(offset_seconds: float = 0) -> int:
    return int((time.time() + offset_seconds) * 1000)


def batch(*changes: tuple[str, str], event_id: int = 3816279340, obj: str = "contact") -> bytes:
    """A batch in the shape of the sample, one property change per (object id, new lifecycle stage)."""
    template = json.loads((SAMPLES / "app_webhook_contact_customer.json").read_text())[0]
    events = [
        {
            **template,
            "eventId": event_id + n,
            "occurredAt": now_ms(-2),
            "subscriptionType": f"{obj}.propertyChange",
            "objectId": int(object_id),
            "propertyName": "lifecyclestage" if obj == "contact" else "dealstage",
            "propertyValue": value,
        }
        for n, (object_id, value) in enumerate(changes)
    ]
    return json.dumps(events, separators=(",", ":")).encode()


def v3(body: bytes, uri: str, *, secret: str = CLIENT_SECRET, age_seconds: float = 1) -> dict[str, str]:
    """The headers HubSpot sends, the signature made by HubSpot's SDK."""
    timestamp = str(now_ms(-age_seconds))
    return {
        "x-hubspot-signature-v3": Signature.get_signature(
            secret, body.decode(), "v3", uri, "POST", timestamp
        ),
        "x-hubspot-request-timestamp": timestamp,
        "x-hubspot-signature-version": "v3",
        "user-agent": "HubSpot Connect 2.0 (http://dev.hubspot.com/) - WebhooksExecutorDaemon-executor",
    }


def v2(body: bytes, uri: str, *, secret: str = CLIENT_SECRET) -> dict[str, str]:
    return {
        "x-hubspot-signature": Signature.get_signature(secret, body.decode(), "v2", uri, "POST"),
        "x-hubspot-signature-version": "v2",
    }


def hubspot_connection(
    campaign_id: str, milestone: dict[str, Any] = CUSTOMER, **settings: Any
) -> dict[str, Any]:
    return create_connection(
        campaign_id, source="hubspot", secret=CLIENT_SECRET, milestone=milestone, settings=settings
    )


def status_of(referral: dict[str, Any]) -> str:
    return str(json_body(get_referral(referral["id"]))["status"])


def test_a_signed_batch_qualifies_the_right_referral_once_and_rewards_it(stack: AwsStack) -> None:
    # Given two friends signed up with their HubSpot contact ids, and a HubSpot connection
    campaign = create_campaign()
    code = enrol(campaign["id"])["code"]
    grace = sign_up(code, "grace@example.org", external_ids={"hubspot": CONTACT_ID})
    alan = sign_up(code, "alan@example.org", external_ids={"hubspot": OTHER_CONTACT_ID})
    connection = hubspot_connection(campaign["id"])
    assert "secret" not in connection  # the app's own secret is not echoed
    url = connection["hook_url"]
    assert url.startswith("https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/hooks/hubspot/")

    # When HubSpot posts a signed batch: Grace became a customer, Alan only a lead — and retries it
    body = batch((CONTACT_ID, "customer"), (OTHER_CONTACT_ID, "lead"))
    first = vendor_hook(url, body, v3(body, url))
    replay = vendor_hook(url, body, v3(body, url))
    qualified = run_qualify(stack)
    outcomes = run_issue_reward(stack)

    # Then one signal is stored, Grace's referral is rewarded once, Alan's stays pending
    assert (first["statusCode"], replay["statusCode"]) == (200, 200)
    assert json_body(first) == {"accepted": 1, "ignored": 1}
    assert [s["source"] for s in stack.items_of("signal")] == ["hubspot"]
    assert_rewarded_once(qualified, outcomes, grace, alan)


def test_several_milestone_events_in_one_batch_qualify_each_referral(stack: AwsStack) -> None:
    campaign = create_campaign()
    code = enrol(campaign["id"])["code"]
    grace = sign_up(code, "grace@example.org", external_ids={"hubspot": CONTACT_ID})
    alan = sign_up(code, "alan@example.org", external_ids={"hubspot": OTHER_CONTACT_ID})
    url = hubspot_connection(campaign["id"])["hook_url"]
    body = batch((CONTACT_ID, "customer"), (OTHER_CONTACT_ID, "customer"))

    response = vendor_hook(url, body, v3(body, url))
    run_qualify(stack)
    run_issue_reward(stack)

    assert json_body(response) == {"accepted": 2, "ignored": 0}
    assert len(stack.items_of("signal")) == 2
    assert (status_of(grace), status_of(alan)) == ("rewarded", "rewarded")


def test_a_stage_going_back_later_does_not_unqualify(stack: AwsStack) -> None:
    campaign = create_campaign()
    deal = sign_up(enrol(campaign["id"])["code"], external_ids={"hubspot_deal": "17208465803"})
    url = hubspot_connection(campaign["id"], DEAL_WON)["hook_url"]
    won = batch(("17208465803", "closedwon"), obj="deal")
    vendor_hook(url, won, v3(won, url))
    run_qualify(stack)
    run_issue_reward(stack)
    before = stack.items()

    back = batch(("17208465803", "appointmentscheduled"), event_id=3816279999, obj="deal")
    response = vendor_hook(url, back, v3(back, url))

    assert json_body(response) == {"accepted": 0, "ignored": 1}
    assert stack.items() == before  # nothing stored for an event that is not the milestone
    assert status_of(deal) == "rewarded"


def test_a_deal_workflow_signed_v2_qualifies_by_the_deal_id(stack: AwsStack) -> None:
    campaign = create_campaign()
    referral = sign_up(enrol(campaign["id"])["code"], external_ids={"hubspot_deal": "46789043"})
    url = hubspot_connection(campaign["id"], DEAL_WON)["hook_url"]
    body = (SAMPLES / "workflow_deal_all_properties.json").read_bytes()

    first = vendor_hook(url, body, v2(body, url))
    again = vendor_hook(url, body, v2(body, url))  # HubSpot retrying, or the record re-enrolled
    run_qualify(stack)
    run_issue_reward(stack)

    assert (first["statusCode"], again["statusCode"]) == (200, 200)
    assert len(stack.items_of("signal")) == 1
    assert status_of(referral) == "rewarded"


def test_a_workflow_call_matches_by_the_referral_code_never_taking_the_deal_id_for_a_contact_id(
    stack: AwsStack,
) -> None:
    """The body's deal 46789043 names no referral (contacts and deals are separate id spaces, so it
    says nothing of contact 46789043): its referral code does."""
    campaign = create_campaign()
    advocate_code = enrol(campaign["id"])["code"]
    contact = sign_up(advocate_code, "ada@example.org", external_ids={"hubspot": "46789043"})
    referral = sign_up(advocate_code, "grace@example.org")
    url = hubspot_connection(campaign["id"], DEAL_WON)["hook_url"]
    custom = json.loads((SAMPLES / "workflow_deal_custom_body.json").read_text())
    body = json.dumps({**custom, "referral_code": referral["referral_code"]}).encode()

    response = vendor_hook(url, body, v3(body, url))
    run_qualify(stack)
    run_issue_reward(stack)

    assert response["statusCode"] == 200
    assert (status_of(referral), status_of(contact)) == ("rewarded", "pending")


def test_the_signed_uri_has_hubspots_escapes_decoded(stack: AwsStack) -> None:
    """HubSpot signs `?src=hub:spot,crm` while the URL arrives as `?src=hub%3Aspot%2Ccrm`."""
    campaign = create_campaign()
    referral = sign_up(enrol(campaign["id"])["code"], external_ids={"hubspot": CONTACT_ID})
    url = hubspot_connection(campaign["id"])["hook_url"]
    body = batch((CONTACT_ID, "customer"))

    response = vendor_hook(url, body, v3(body, f"{url}?src=hub:spot,crm"), query="src=hub%3Aspot%2Ccrm")
    run_qualify(stack)
    run_issue_reward(stack)

    assert response["statusCode"] == 200
    assert status_of(referral) == "rewarded"


def test_the_public_base_url_is_what_hubspot_signed(stack: AwsStack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://refer.example.com")
    reset_caches()
    campaign = create_campaign()
    referral = sign_up(enrol(campaign["id"])["code"], external_ids={"hubspot": CONTACT_ID})
    url = hubspot_connection(campaign["id"])["hook_url"]
    assert url.startswith("https://refer.example.com/hooks/hubspot/")
    body = batch((CONTACT_ID, "customer"))
    api_gateway_host = url.replace(
        "https://refer.example.com", "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com"
    )

    wrong_host = vendor_hook(url, body, v3(body, api_gateway_host))
    response = vendor_hook(url, body, v3(body, url))
    run_qualify(stack)

    assert (wrong_host["statusCode"], response["statusCode"]) == (401, 200)
    assert status_of(referral) == "qualified"


@pytest.mark.parametrize(
    ("forgery", "code"),
    [
        ("no_signature", "signature_invalid"),
        ("wrong_secret", "signature_invalid"),
        ("tampered_body", "signature_invalid"),
        ("stale_timestamp", "stale_timestamp"),
        ("restamped_replay", "signature_invalid"),
        ("v1_wrong_secret", "signature_invalid"),
    ],
)
def test_forged_stale_and_tampered_calls_are_refused_and_write_nothing(
    stack: AwsStack, forgery: str, code: str
) -> None:
    campaign = create_campaign()
    referral = sign_up(enrol(campaign["id"])["code"], external_ids={"hubspot": CONTACT_ID})
    url = hubspot_connection(campaign["id"])["hook_url"]
    body = batch((CONTACT_ID, "customer"))
    before = stack.items()

    sent, headers = body, v3(body, url)
    if forgery == "no_signature":
        headers = {}
    elif forgery == "wrong_secret":
        headers = v3(body, url, secret="9d1e2f3a-4b5c-4d6e-8f70-112233445566")
    elif forgery == "tampered_body":
        sent = body.replace(CONTACT_ID.encode(), OTHER_CONTACT_ID.encode())
    elif forgery == "stale_timestamp":
        headers = v3(body, url, age_seconds=6 * 60)
    elif forgery == "restamped_replay":
        headers = {**v3(body, url, age_seconds=3600), "x-hubspot-request-timestamp": str(now_ms())}
    elif forgery == "v1_wrong_secret":
        headers = {
            "x-hubspot-signature": Signature.get_signature("not-the-secret-123", body.decode(), "v1"),
            "x-hubspot-signature-version": "v1",
        }
    response = vendor_hook(url, sent, headers)

    assert response["statusCode"] == 401
    assert json_body(response)["error"]["code"] == code
    assert stack.items() == before
    assert stack.stream_batch()["Records"] == []  # nothing for qualify to see
    assert status_of(referral) == "pending"


def test_require_v3_refuses_a_correct_v2_call(stack: AwsStack) -> None:
    campaign = create_campaign()
    url = hubspot_connection(campaign["id"], require_v3=True)["hook_url"]
    body = batch((CONTACT_ID, "customer"))
    before = stack.items()

    response = vendor_hook(url, body, v2(body, url))

    assert response["statusCode"] == 401
    assert stack.items() == before


def test_an_authentic_but_unreadable_call_is_a_400(stack: AwsStack) -> None:
    url = hubspot_connection(create_campaign()["id"])["hook_url"]
    body = b'{"hs_object_id": "51"}'  # a workflow body without the milestone property
    before = stack.items()

    response = vendor_hook(url, body, v3(body, url))

    assert response["statusCode"] == 400
    assert json_body(response)["error"]["code"] == "malformed_payload"
    assert stack.items() == before


@pytest.mark.parametrize(
    ("milestone", "settings"),
    [
        ({}, {}),
        ({"object": "ticket", "property": "hs_pipeline_stage", "value": "4"}, {}),
        ({"object": "deal", "property": "dealstage"}, {}),
        (DEAL_WON, {"portal": 62515}),
    ],
)
def test_a_connection_with_a_bad_milestone_is_refused_and_writes_nothing(
    stack: AwsStack, milestone: dict[str, Any], settings: dict[str, Any]
) -> None:
    campaign = create_campaign()
    before = stack.items()
    response = post_connection(
        campaign["id"],
        {"source": "hubspot", "secret": CLIENT_SECRET, "milestone": milestone, "settings": settings},
    )
    assert response["statusCode"] == 400
    assert json_body(response)["error"]["code"] == "invalid_request"
    assert stack.items() == before
