"""Intercom through the inbound webhook handler: a connection created over the API with the app's client
secret, notifications signed the way Intercom signs them, and the whole path to the reward."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import pytest

from support.aws import AwsStack
from support.events import json_body
from support.journey import (
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

SAMPLES = Path(__file__).resolve().parents[2] / "events" / "vendors" / "intercom"
CLIENT_SECRET = "5f1c0e7a-intercom-app-client-secret-93bd"
CONTACT_ID = "6762f0dd1bb69f9f2193bb83"
TAG_NOTIFICATION = "notif_0c5d2a4e-9b1f-4c7e-8a3d-2f6b1e9c7a51"
PAID = {"attribute": "custom_attributes.plan", "value": "paid"}


def notification(sample: str, age_seconds: int = 3) -> bytes:
    """A sample as Intercom would send it now (`created_at` a few seconds ago)."""
    body: dict[str, Any] = json.loads((SAMPLES / f"{sample}.json").read_text())
    created = int(time.time()) - age_seconds
    body["created_at"] = body["first_sent_at"] = created
    if body["data"]["item"].get("type") == "contact_tag":
        body["data"]["item"]["created_at"] = created
    return json.dumps(body, indent=2).encode()


def signed(body: bytes, secret: str = CLIENT_SECRET) -> dict[str, str]:
    return {
        "x-hub-signature": "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest(),
        "user-agent": "intercom-parrot-service-client/1.0",
    }


def intercom_connection(campaign_id: str, milestone: dict[str, Any], **settings: Any) -> dict[str, Any]:
    return create_connection(
        campaign_id, source="intercom", secret=CLIENT_SECRET, milestone=milestone, settings=settings
    )


def test_a_tagged_contact_qualifies_its_referral_once_and_is_rewarded(stack: AwsStack) -> None:
    campaign = create_campaign()
    code = enrol(campaign["id"])["code"]
    grace = sign_up(code, "grace@example.org", external_ids={"intercom": CONTACT_ID})
    linus = sign_up(code, "linus@example.net", external_ids={"intercom": "64dbc8be576618069c4e0560"})
    connection = intercom_connection(campaign["id"], {"tag": "customer"})
    assert "secret" not in connection  # Intercom's own client secret: stored, never shown
    body = notification("contact.user.tag.created")

    first = vendor_hook(connection["hook_url"], body, signed(body))
    replay = vendor_hook(connection["hook_url"], body, signed(body))
    qualified = run_qualify(stack)
    rewarded = run_issue_reward(stack)

    assert (first["statusCode"], replay["statusCode"]) == (200, 200)
    assert json_body(first) == {"accepted": 1, "ignored": 0}
    [stored] = stack.items_of("signal")
    assert (stored["source"], stored["event_id"]) == ("intercom", TAG_NOTIFICATION)
    assert qualified["batchItemFailures"] == []
    assert len(rewarded) == 1
    grace_now = json_body(get_referral(grace["id"]))
    assert grace_now["status"] == "rewarded"
    assert sorted(r["recipient"] for r in grace_now["rewards"]) == ["advocate", "friend"]
    assert json_body(get_referral(linus["id"]))["status"] == "pending"
    assert stack.exceptions() == []


def test_an_attribute_update_qualifies_the_referral_with_that_email(stack: AwsStack) -> None:
    campaign = create_campaign()
    referral = sign_up(enrol(campaign["id"])["code"], "grace@example.org")  # no Intercom id given
    connection = intercom_connection(campaign["id"], PAID)
    body = notification("contact.user.updated")

    response = vendor_hook(connection["hook_url"], body, signed(body))
    run_qualify(stack)
    run_issue_reward(stack)

    assert response["statusCode"] == 200
    assert json_body(get_referral(referral["id"]))["status"] == "rewarded"


def test_matching_on_your_own_user_id(stack: AwsStack) -> None:
    campaign = create_campaign()
    referral = sign_up(
        enrol(campaign["id"])["code"], "someone.else@example.org", external_ids={"intercom": "user-4021"}
    )
    connection = intercom_connection(campaign["id"], {"tag": "customer"}, match_on="external_id")
    body = notification("contact.user.tag.created")

    assert vendor_hook(connection["hook_url"], body, signed(body))["statusCode"] == 200
    run_qualify(stack)
    run_issue_reward(stack)

    assert json_body(get_referral(referral["id"]))["status"] == "rewarded"


def _forgeries() -> list[tuple[str, Any]]:
    def tampered(body: bytes) -> tuple[bytes, dict[str, str]]:
        return body.replace(b'"name": "customer"', b'"name": "customer" '), signed(body)

    def sha256(body: bytes) -> tuple[bytes, dict[str, str]]:
        digest = hmac.new(CLIENT_SECRET.encode(), body, hashlib.sha256).hexdigest()
        return body, {"x-hub-signature": f"sha256={digest}"}

    return [
        ("missing", lambda body: (body, {})),
        ("wrong-secret", lambda body: (body, signed(body, "not-the-apps-client-secret"))),
        ("tampered", tampered),
        ("sha256", sha256),
    ]


@pytest.mark.parametrize(("name", "forge"), _forgeries(), ids=[name for name, _ in _forgeries()])
def test_forged_notifications_are_refused_and_write_nothing(stack: AwsStack, name: str, forge: Any) -> None:
    campaign = create_campaign()
    sign_up(enrol(campaign["id"])["code"], "grace@example.org", external_ids={"intercom": CONTACT_ID})
    connection = intercom_connection(campaign["id"], {"tag": "customer"})
    body, headers = forge(notification("contact.user.tag.created"))
    before = stack.items()

    response = vendor_hook(connection["hook_url"], body, headers)

    assert response["statusCode"] == 401, name
    assert json_body(response)["error"]["code"] == "signature_invalid"
    assert stack.items() == before


def test_a_replayed_old_notification_is_refused_as_stale_and_writes_nothing(stack: AwsStack) -> None:
    campaign = create_campaign()
    sign_up(enrol(campaign["id"])["code"], "grace@example.org", external_ids={"intercom": CONTACT_ID})
    connection = intercom_connection(campaign["id"], {"tag": "customer"})
    body = notification("contact.user.tag.created", age_seconds=25 * 3600)
    before = stack.items()

    response = vendor_hook(connection["hook_url"], body, signed(body))

    assert response["statusCode"] == 401
    assert json_body(response)["error"]["code"] == "stale_timestamp"
    assert stack.items() == before


@pytest.mark.parametrize(
    ("sample", "milestone"),
    [
        ("ping", {"tag": "customer"}),
        ("contact.user.tag.created", {"tag": "vip"}),
        ("contact.user.updated", {"tag": "customer"}),
        ("contact.user.updated", {"attribute": "custom_attributes.plan", "value": "enterprise"}),
    ],
    ids=["ping", "another-tag", "update-for-a-tag-milestone", "another-value"],
)
def test_pings_and_notifications_short_of_the_milestone_are_acknowledged_and_store_nothing(
    stack: AwsStack, sample: str, milestone: dict[str, Any]
) -> None:
    campaign = create_campaign()
    sign_up(enrol(campaign["id"])["code"], "grace@example.org", external_ids={"intercom": CONTACT_ID})
    connection = intercom_connection(campaign["id"], milestone)
    body = notification(sample)
    before = stack.items()

    response = vendor_hook(connection["hook_url"], body, signed(body))

    assert response["statusCode"] == 200
    assert json_body(response) == {"accepted": 0, "ignored": 1}
    assert stack.items() == before


@pytest.mark.parametrize(
    "body",
    [
        {"source": "intercom", "secret": CLIENT_SECRET},
        {"source": "intercom", "secret": CLIENT_SECRET, "milestone": {"attribute": "plan", "value": "paid"}},
        {
            "source": "intercom",
            "secret": CLIENT_SECRET,
            "milestone": {"tag": "customer"},
            "settings": {"x": 1},
        },
    ],
    ids=["no-milestone", "unknown-attribute", "unknown-setting"],
)
def test_an_intercom_connection_needs_a_milestone_it_can_check(stack: AwsStack, body: dict[str, Any]) -> None:
    campaign = create_campaign()
    before = stack.items()
    response = post_connection(campaign["id"], body)
    assert response["statusCode"] == 400
    assert "intercom" in json_body(response)["error"]["message"]
    assert stack.items() == before
