"""issue_reward with EventBridge envelopes: rewards exactly once, failures surface for Lambda's retries."""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest

import issue_reward
from referral_engine import wiring
from referral_engine.adapters.dynamodb.referrals import DynamoReferralStore
from referral_engine.domain.errors import IllegalTransition, NotFound
from referral_engine.domain.models import AuditEntry, ReferralStatus, utcnow
from referral_engine.domain.rewards import rewards_for
from support.aws import AwsStack
from support.events import LambdaContext, sample
from support.journey import (
    create_campaign,
    enrol,
    qualify_via_api,
    run_issue_reward,
    run_qualify,
    sign_up,
)


def qualified_referral(stack: AwsStack, **campaign: object) -> tuple[str, str, dict[str, object]]:
    advocate = enrol(create_campaign(**campaign)["id"])
    referral = sign_up(advocate["code"])
    qualify_via_api(referral["id"], event_id="inv_1")
    run_qualify(stack)
    (event,) = stack.captured_events()
    return referral["id"], advocate["code"], event


def test_an_event_for_an_unknown_referral_raises_so_lambda_retries_then_dead_letters(stack: AwsStack) -> None:
    with pytest.raises(NotFound):
        issue_reward.handler(sample("issue_reward/referral_qualified"), LambdaContext())
    assert stack.items_of("reward") == []


def test_a_malformed_event_raises_and_writes_nothing(stack: AwsStack) -> None:
    event = copy.deepcopy(sample("issue_reward/referral_qualified"))
    del event["detail"]["referral_id"]
    before = stack.items()
    with pytest.raises(ValueError, match="referral_id"):
        issue_reward.handler(event, LambdaContext())
    assert stack.items() == before


def test_redelivered_event_rewards_once(stack: AwsStack) -> None:
    _referral_id, advocate_code, event = qualified_referral(
        stack, reward={"amount": "15.00", "currency": "EUR"}
    )

    outcomes = [issue_reward.handler(event, LambdaContext())["outcome"] for _ in range(3)]

    assert outcomes == ["issued", "duplicate", "duplicate"]
    (reward,) = stack.items_of("reward")
    assert (reward["recipient"], reward["amount"], reward["currency"]) == (
        "advocate",
        Decimal("15.00"),
        "EUR",
    )
    advocate = next(p for p in stack.items_of("participant") if p["code"] == advocate_code)
    assert advocate["credit_balance"] == Decimal("15.00")
    assert advocate["rewards"] == 1


def test_racing_writers_issue_one_set_of_rewards(stack: AwsStack) -> None:
    """Two invocations that both read the referral as qualified: DynamoDB's condition lets one win."""
    referral_id, advocate_code, _ = qualified_referral(stack)
    store = DynamoReferralStore(wiring.table())
    stale = store.get(referral_id)
    assert stale is not None
    assert stale.status is ReferralStatus.QUALIFIED
    campaign = wiring.campaigns().get(stale.campaign_id)

    def audit() -> AuditEntry:
        return AuditEntry(referral_id=referral_id, at=utcnow(), action="referral.rewarded", actor="test")

    first = store.record_rewards(stale, rewards_for(campaign, stale, utcnow()), audit())
    second = store.record_rewards(stale, rewards_for(campaign, stale, utcnow()), audit())

    assert (first.applied, second.applied) == (True, False)
    assert second.current.status is ReferralStatus.REWARDED
    assert len(stack.items_of("reward")) == 2  # advocate + friend, once
    advocate = next(p for p in stack.items_of("participant") if p["code"] == advocate_code)
    assert advocate["credit_balance"] == Decimal("20.00")


def test_racing_qualifications_qualify_once(stack: AwsStack) -> None:
    referral = sign_up(enrol(create_campaign()["id"])["code"])
    store = DynamoReferralStore(wiring.table())
    stale = store.get(referral["id"])
    assert stale is not None

    def audit() -> AuditEntry:
        return AuditEntry(referral_id=stale.id, at=utcnow(), action="referral.qualified", actor="test")

    first = store.mark_qualified(stale, "api:a", audit())
    second = store.mark_qualified(stale, "api:b", audit())

    assert (first.applied, second.applied) == (True, False)
    assert second.current.qualified_by == "api:a"


def test_the_whole_chain_from_bus_to_reward(stack: AwsStack) -> None:
    advocate = enrol(create_campaign()["id"])
    referral = sign_up(advocate["code"])
    qualify_via_api(referral["id"])
    run_qualify(stack)

    assert run_issue_reward(stack) == [{"referral_id": referral["id"], "outcome": "issued"}]
    assert {r["recipient"] for r in stack.items_of("reward")} == {"advocate", "friend"}


def test_an_event_for_a_referral_never_qualified_is_refused_audited_and_changes_nothing(
    stack: AwsStack,
) -> None:
    # Given a pending referral on the real table
    referral = sign_up(enrol(create_campaign()["id"])["code"])
    event = copy.deepcopy(sample("issue_reward/referral_qualified"))
    event["detail"]["referral_id"] = referral["id"]
    stored_before = stack.items_of("referral")

    # When an event claims it qualified: pending → rewarded is not a move of the state machine
    with pytest.raises(IllegalTransition, match="a referral cannot go from pending to rewarded"):
        issue_reward.handler(event, LambdaContext())

    # Then the service refused it: nothing paid, the referral as it was, the refusal on its record
    assert stack.items_of("referral") == stored_before
    assert stack.items_of("reward") == []
    assert {p["credit_balance"] for p in stack.items_of("participant")} == {Decimal(0)}
    [refused] = [a for a in stack.items_of("audit") if a["action"] == "referral.transition_refused"]
    assert (refused["actor"], refused["from_status"], refused["to_status"]) == (
        "system:issue_reward",
        "pending",
        "rewarded",
    )
    assert refused["detail"]["attempted"] == ["referral.rewarded"]


def test_the_store_itself_refuses_a_move_the_state_machine_does_not_have(stack: AwsStack) -> None:
    """Defence in depth: a caller that skips the service's check still cannot write the move."""
    referral = sign_up(enrol(create_campaign()["id"])["code"])
    store = DynamoReferralStore(wiring.table())
    pending = store.get(referral["id"])
    assert pending is not None
    campaign = wiring.campaigns().get(pending.campaign_id)
    assert campaign is not None
    before = stack.items()
    audit = AuditEntry(referral_id=pending.id, at=utcnow(), action="referral.rewarded", actor="test")

    with pytest.raises(IllegalTransition):
        store.record_rewards(pending, rewards_for(campaign, pending, utcnow()), audit)

    assert stack.items() == before
