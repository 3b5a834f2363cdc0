"""Every vendor connection end to end on the local stack, over HTTP only: campaign → advocate → signup
with the vendor's id → connection → the vendor's signed call → qualified → rewarded, exactly once;
a redelivery changes nothing and a forged call is refused."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

import pytest

from support.local_stack import RunningStack
from support.receiver import receiving
from support.vendor_calls import Match, stripe_event, vendor_call
from support.vendor_sources import SOURCES, Source, send, soap_ack

CAMPAIGN = {
    "name": "Give $20, get $10",
    "landing_url": "https://shop.example.com/welcome",
    "reward": {"amount": "20.00", "currency": "USD", "friend_amount": "10.00"},
}
FORGED_SECRET = "forged-0000-4e8a-9c61-not-the-secret"


def reward_set(referral: dict[str, Any]) -> list[tuple[str, str, str]]:
    return sorted((r["recipient"], r["amount"], r["currency"]) for r in referral["rewards"])


@pytest.mark.parametrize("source", SOURCES, ids=[source.name for source in SOURCES])
def test_a_vendor_call_takes_the_referral_to_its_reward_once(
    local_stack: RunningStack, source: Source
) -> None:
    stack = local_stack
    # Given a campaign, an advocate, and a friend who signed up with the vendor's id for them
    campaign = stack.post("/v1/campaigns", CAMPAIGN)
    assert campaign.status_code == 201, campaign.text
    campaign_id = campaign.json()["id"]
    advocate = stack.post(f"/v1/campaigns/{campaign_id}/advocates", {"email": "ada@example.com"}).json()
    signup = stack.post(
        "/v1/referrals",
        {
            "code": advocate["code"],
            "email": "grace@example.org",
            "external_ids": {source.name: source.external_id},
        },
    )
    assert signup.status_code in (200, 201), signup.text
    referral = signup.json()

    # And a connection to the vendor, with its milestone, settings and secret
    body: dict[str, Any] = {"source": source.name}
    if source.milestone:
        body["milestone"] = source.milestone
    if source.settings:
        body["settings"] = source.settings
    if source.secret:
        body["secret"] = source.secret
    created = stack.post(f"/v1/campaigns/{campaign_id}/connections", body)
    assert created.status_code == 201, created.text
    connection = created.json()
    hook_url = connection["hook_url"]
    assert hook_url.startswith(f"{stack.api}/hooks/{source.name}/")
    secret = source.secret or connection["secret"]
    match = Match(source.external_id, referral["referral_code"], "grace@example.org")
    event_id = f"e2e{uuid.uuid4().hex}"

    # When the vendor posts its signed call
    first = send(hook_url, vendor_call(source.name, hook_url, secret, source.settings, match, event_id))

    # Then it is acknowledged as the vendor expects, and the referral is rewarded
    assert first.status_code == 200, first.text
    assert source.reply(first), first.text
    path = f"/v1/referrals/{referral['id']}"
    shown = stack.wait_for(
        lambda: (now := stack.get(path).json())["status"] == "rewarded" and now, what="the reward"
    )
    rewards = reward_set(shown)
    assert rewards == [("advocate", "20.00", "USD"), ("friend", "10.00", "USD")]

    # When the vendor delivers the same event again (signed anew, as vendors retry)
    again = send(hook_url, vendor_call(source.name, hook_url, secret, source.settings, match, event_id))

    # Then it is acknowledged and there is still exactly one set of rewards
    assert again.status_code == 200, again.text
    if source.name == "salesforce":
        assert soap_ack(again)
    assert stack.once_quiet(lambda: reward_set(stack.get(path).json())) == rewards

    # And a call signed with another secret is refused
    forged = send(
        hook_url, vendor_call(source.name, hook_url, FORGED_SECRET, source.settings, match, f"{event_id}-x")
    )
    assert forged.status_code in (401, 403), forged.text
    assert json.loads(forged.content)["error"]["code"] in ("signature_invalid", "forbidden")
    final = stack.get(path).json()
    assert (final["status"], reward_set(final)) == ("rewarded", rewards)


def test_a_stripe_refund_reverses_the_rewarded_referral_and_a_zap_hears_of_it_once(
    local_stack: RunningStack,
) -> None:
    stack, customer = local_stack, "cus_NeZwdNtLEOXuvB"
    campaign_id = stack.post("/v1/campaigns", CAMPAIGN).json()["id"]
    advocate = stack.post(f"/v1/campaigns/{campaign_id}/advocates", {"email": "ada@example.com"}).json()
    referral = stack.post(
        "/v1/referrals",
        {"code": advocate["code"], "email": "grace@example.org", "external_ids": {"stripe": customer}},
    ).json()
    secret = "whsec_e2e0reversal0c1f0e7a2b3d4c5e6f70"
    connection = stack.post(
        f"/v1/campaigns/{campaign_id}/connections",
        {"source": "stripe", "secret": secret, "milestone": {"events": ["invoice.paid"]}},
    ).json()
    hook_url, path = connection["hook_url"], f"/v1/referrals/{referral['id']}"
    match = Match(customer, referral["referral_code"], "grace@example.org")

    with receiving() as zap:
        # Given a zap listening for reversals of this campaign, and a rewarded referral
        subscribed = stack.post(
            "/v1/hooks/subscriptions",
            {"target_url": zap.url(), "event": "referral.reversed", "campaign_id": campaign_id},
        )
        assert subscribed.status_code == 201, subscribed.text
        paid = send(hook_url, stripe_event("invoice.paid", secret, match, f"evt_{uuid.uuid4().hex}"))
        assert paid.status_code == 200, paid.text
        stack.wait_for(lambda: stack.get(path).json()["status"] == "rewarded", what="the reward")

        # When Stripe reports the charge refunded, twice (a redelivery)
        refund_id = f"evt_{uuid.uuid4().hex}"
        for _ in range(2):
            refunded = send(hook_url, stripe_event("charge.refunded", secret, match, refund_id))
            assert refunded.status_code == 200, refunded.text

        # Then the referral is reversed, and the zap hears of it exactly once
        shown = stack.wait_for(
            lambda: (now := stack.get(path).json())["status"] == "reversed" and now, what="the reversal"
        )
        stack.wait_for(zap.at, what="the reversal hook")
        [heard] = stack.once_quiet(lambda: list(zap.received))
        assert heard.headers["x-referrals-event"] == "referral.reversed"
        assert (heard.payload["id"], heard.payload["status"]) == (referral["id"], "reversed")
        reversed_at = datetime.fromisoformat(heard.payload["reversed_at"])
        assert reversed_at == datetime.fromisoformat(shown["reversed_at"])
        assert len(shown["rewards"]) == 2  # issued before the refund, kept: see the referral.reversed event
