"""The fraud checks at signup and the evidence at click (docs/adr/0018): what each verdict answers,
what it stores, and that no raw IP address or user agent is ever written."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

import track_click
from referral_engine import wiring
from referral_engine.adapters import aws, fingerprint_secret
from support.aws import AwsStack
from support.events import LambdaContext, http_event, json_body
from support.journey import (
    call_api,
    create_campaign,
    enrol,
    get_referral,
    qualify_via_api,
    run_issue_reward,
    run_qualify,
    sign_up,
)

GRACE_IP = "81.2.69.160"  # public addresses: private and documentation ones have no fingerprint
GRACE_IPV6 = "2a00:1450:4009:81f::200e"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
RAW = (GRACE_IP, GRACE_IPV6, "2a00:1450:4009:81f", FIREFOX, "Firefox/133.0")


def assert_nothing_raw(stack: AwsStack) -> None:
    """Every item of the table, every attribute: no address and no user agent as sent."""
    written = repr(stack.items())
    assert [raw for raw in RAW if raw in written] == []


def audit_of(stack: AwsStack, referral_id: str) -> list[dict[str, Any]]:
    return [item for item in stack.items_of("audit") if item["referral_id"] == referral_id]


def test_a_clean_signup_is_pending_with_its_device_kept_as_fingerprints(stack: AwsStack) -> None:
    advocate = enrol(create_campaign()["id"], "ada@example.com")

    referral = sign_up(advocate["code"], "grace@example.org", ip=GRACE_IP, user_agent=FIREFOX)

    assert referral["status"] == "pending"
    [device] = stack.items_of("device")
    assert device["pk"] == f"DEVICES#{referral['referral_code']}"
    assert (device["ip"][:3], device["user_agent"][:3]) == ("ip_", "ua_")
    assert device["expires_at"] > 0
    counters = {item["pk"].split("#")[1] for item in stack.items_of("velocity")}
    assert counters == {"advocate", "network"}
    [created] = audit_of(stack, referral["id"])
    assert "fraud" not in created["detail"]  # nothing found, nothing to say
    assert_nothing_raw(stack)


def test_the_advocate_by_another_spelling_lands_in_review_and_is_never_paid(stack: AwsStack) -> None:
    advocate = enrol(create_campaign()["id"], "ada.lovelace@gmail.com")

    response = call_api(
        "sign_up", body={"code": advocate["code"], "email": "AdaLovelace+friend@googlemail.com"}
    )

    assert response["statusCode"] == 201
    referral = json_body(response)
    assert referral["status"] == "in_review"
    [created] = audit_of(stack, referral["id"])
    assert (created["to_status"], created["detail"]["fraud"]["reasons"]) == (
        "in_review",
        ["self_referral_email"],
    )
    # A payment that would qualify it is held: no qualification, no reward, the signal in the audit.
    assert qualify_via_api(referral["id"], event_id="order-1")["statusCode"] == 202
    run_qualify(stack)
    assert run_issue_reward(stack) == []
    assert json_body(get_referral(referral["id"]))["status"] == "in_review"
    assert stack.items_of("reward") == []
    assert "signal.held_for_review" in [entry["action"] for entry in audit_of(stack, referral["id"])]


def test_a_rejected_signup_is_a_422_with_its_reasons_and_writes_only_its_audit(stack: AwsStack) -> None:
    campaign = create_campaign(fraud={"blocked": {"email_domains": ["spam.example"]}})
    advocate = enrol(campaign["id"])
    before = stack.items()

    response = call_api(
        "sign_up", body={"code": advocate["code"], "email": "grace@mail.spam.example", "ip": GRACE_IP}
    )

    assert response["statusCode"] == 422
    error = json_body(response)["error"]
    assert (error["code"], error["reasons"]) == ("fraud_rejected", ["blocked_email_domain"])
    [refusal] = [item for item in stack.items() if item not in before]
    assert (refusal["entity"], refusal["action"]) == ("refusal", "referral.refused")
    assert refusal["gsi1pk"] == f"CAMPAIGN#{campaign['id']}#REFUSED"
    assert refusal["detail"]["fraud"]["findings"][0]["seen"] == {"email_domain": "spam.example"}
    assert_nothing_raw(stack)


@pytest.mark.parametrize(
    ("email", "extra", "reasons"),
    [
        ("ada@example.com", {}, ["self_referral_email"]),  # the advocate's own address, exactly
        ("grace@example.org", {"existing_customer": True}, ["existing_customer_declared"]),
    ],
)
def test_facts_are_rejected_by_default(
    stack: AwsStack, email: str, extra: dict[str, Any], reasons: list[str]
) -> None:
    advocate = enrol(create_campaign()["id"], "ada@example.com")

    response = call_api("sign_up", body={"code": advocate["code"], "email": email, **extra})

    assert response["statusCode"] == 422
    assert json_body(response)["error"]["reasons"] == reasons
    assert [item["entity"] for item in stack.items_of("referral")] == []
    assert [item["action"] for item in stack.items_of("refusal")] == ["referral.refused"]


def test_the_advocates_own_device_and_a_busy_network_are_reviewed(stack: AwsStack) -> None:
    campaign = create_campaign(fraud={"limits": {"network_per_hour": 2}})
    ada = enrol(campaign["id"], "ada@example.com")
    # Bob signs up through Ada on his laptop; then "Carol" signs up through Bob on the same laptop.
    bob = sign_up(ada["code"], "bob@example.org", ip=GRACE_IPV6, user_agent=FIREFOX)
    carol = sign_up(bob["referral_code"], "carol@example.net", ip=GRACE_IPV6, user_agent=FIREFOX)
    # A third signup from that network within the hour, on another browser, another advocate.
    dave = sign_up(ada["code"], "dave@example.com", ip="2a00:1450:4009:81f::1", user_agent="curl/8.5")

    assert bob["status"] == "pending"
    assert carol["status"] == "in_review"
    assert audit_of(stack, carol["id"])[0]["detail"]["fraud"]["reasons"] == ["self_referral_device"]
    assert dave["status"] == "in_review"
    assert audit_of(stack, dave["id"])[0]["detail"]["fraud"]["reasons"] == ["velocity_network_hour"]
    assert_nothing_raw(stack)


def test_an_unknown_fraud_rule_or_action_is_refused_at_campaign_creation(stack: AwsStack) -> None:
    for fraud in ({"self_referal": "reject"}, {"velocity": "block"}, {"limits": {"network_per_hour": 0}}):
        response = call_api("create_campaign", body={**CAMPAIGN_BODY, "fraud": fraud})
        assert response["statusCode"] == 422, fraud
    assert stack.items_of("campaign") == []


def test_a_click_keeps_its_visitors_fingerprints_on_the_item_it_counts(stack: AwsStack) -> None:
    code = enrol(create_campaign()["id"])["code"]
    track_click.landing_targets.clear()
    event = http_event("track_click/get_referral_link", path=f"/r/{code}", path_parameters={"code": code})
    event["requestContext"]["http"] |= {"sourceIp": GRACE_IP, "userAgent": FIREFOX}

    assert track_click.handler(event, LambdaContext())["statusCode"] == 302
    assert track_click.handler(event, LambdaContext())["statusCode"] == 302  # warm: on a shard

    counted = [item for item in stack.items() if item["pk"].startswith((f"CODE#{code}", f"CLICKS#{code}#"))]
    visits = [value for item in counted for name, value in item.items() if name.startswith("visit_")]
    assert len(visits) == 2
    assert visits[0][:-19] == visits[1][:-19]  # one device: the same fingerprints, kept in the same slot
    ip, user_agent, _ = visits[0].split(" ")
    assert (ip[:3], len(ip), user_agent[:3], len(user_agent)) == ("ip_", 35, "ua_", 35)
    assert_nothing_raw(stack)
    track_click.landing_targets.clear()


def test_a_click_whose_key_cannot_be_read_redirects_and_stops_asking_for_a_while(
    stack: AwsStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = enrol(create_campaign()["id"])["code"]
    track_click.landing_targets.clear()
    monkeypatch.setattr(fingerprint_secret.Unreadable, "until", 0.0)
    event = http_event("track_click/get_referral_link", path=f"/r/{code}", path_parameters={"code": code})
    event["requestContext"]["http"] |= {"sourceIp": GRACE_IP, "userAgent": FIREFOX}
    asked: list[str] = []

    def unavailable(model: Any, **_: Any) -> None:
        asked.append(model.name)
        raise ClientError({"Error": {"Code": "InternalServiceError", "Message": "down"}}, model.name)

    secrets = aws.without_retries("secretsmanager")
    secrets.meta.events.register("before-call.secrets-manager", unavailable)
    try:
        answers = [track_click.handler(event, LambdaContext())["statusCode"] for _ in range(3)]
    finally:
        secrets.meta.events.unregister("before-call.secrets-manager", unavailable)

    assert answers == [302, 302, 302]
    assert asked == ["GetSecretValue"]  # once: the next clicks within the minute do not ask
    counted = [item for item in stack.items() if item["pk"].startswith((f"CODE#{code}", f"CLICKS#{code}#"))]
    assert sum(int(item["clicks"]) for item in counted) == 3
    assert [name for item in counted for name in item if name.startswith("visit_")] == []
    track_click.landing_targets.clear()


def test_a_signup_whose_key_cannot_be_read_is_judged_on_its_other_evidence(
    stack: AwsStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    advocate = enrol(create_campaign()["id"], "ada@example.com")
    monkeypatch.setattr(fingerprint_secret.Unreadable, "until", 0.0)
    asked: list[str] = []

    def unavailable(model: Any, **_: Any) -> None:
        asked.append(model.name)
        raise ClientError({"Error": {"Code": "InternalServiceError", "Message": "down"}}, model.name)

    secrets = wiring.services().fingerprint_secrets
    secrets.meta.events.register("before-call.secrets-manager", unavailable)
    try:
        grace = sign_up(advocate["code"], "grace@example.org", ip=GRACE_IP, user_agent=FIREFOX)
        alan = sign_up(advocate["code"], "ada+alt@example.com", ip=GRACE_IP, user_agent=FIREFOX)
    finally:
        secrets.meta.events.unregister("before-call.secrets-manager", unavailable)

    assert (grace["status"], alan["status"]) == ("pending", "in_review")  # the email rule still sees Ada
    assert asked == ["GetSecretValue"]  # once: the next signup within the minute does not ask
    assert stack.items_of("device") == []
    assert_nothing_raw(stack)


CAMPAIGN_BODY = {
    "name": "Give $20, get $20",
    "landing_url": "https://shop.example.com/welcome",
    "reward": {"amount": "20.00", "currency": "USD"},
}
