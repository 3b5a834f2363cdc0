"""The hold period, the release schedule and the clawback against moto (docs/adr/0020): what a user
sees in the referral view and the balances, exactly once whatever the order of the runs and events."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import issue_reward
import release_rewards
from referral_engine import wiring
from referral_engine.adapters.dynamodb import rewards as reward_adapter
from referral_engine.adapters.dynamodb.rewards import DynamoRewardLedger
from referral_engine.domain.models import (
    AuditEntry,
    Referral,
    ReferralStatus,
    Reward,
    RewardStatus,
    Signal,
    SignalKind,
    SignalMatch,
    utcnow,
)
from referral_engine.ports import ReviewQueue, RewardWrite
from referral_engine.services.campaigns import NewAdvocate, NewCampaign
from referral_engine.services.clawbacks import ClawbackOutcome, ClawbackService
from referral_engine.services.referrals import NewSignup
from referral_engine.services.releases import ReleaseService
from support.aws import AwsStack
from support.events import LambdaContext, json_body
from support.journey import (
    get_referral,
)

HELD = {"amount": "20.00", "currency": "USD", "friend_amount": "5.00", "hold_days": "1"}


def held_referral(
    stack: AwsStack, reward: dict[str, str] = HELD, friend: str = "grace@example.org"
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A referral qualified under `reward` (through the services: quicker than the API and its stream),
    and its `referral.qualified` event, not yet handled."""
    campaign = wiring.campaigns().create(
        NewCampaign.model_validate(
            {"name": "held", "landing_url": "https://shop.example.com/", "reward": reward}
        )
    )
    advocate, _ = wiring.campaigns().enrol_advocate(campaign.id, NewAdvocate(email="ada@example.com"))
    signup = NewSignup.model_validate({"code": advocate.code, "email": friend})
    referral, _ = wiring.referrals().sign_up(signup, actor="api")
    wiring.qualification().process(
        Signal(
            source="test",
            event_id="pay_1",
            campaign_id=campaign.id,
            match=SignalMatch(referral_id=referral.id),
            received_at=utcnow(),
        )
    )
    [qualified] = stack.captured_events()
    return {"id": referral.id, "referral_code": referral.referred_code}, qualified


def shown(referral_id: str) -> dict[str, Any]:
    return json_body(get_referral(referral_id))


def rewards_of(referral_id: str) -> dict[str, dict[str, Any]]:
    return {reward["recipient"]: reward for reward in shown(referral_id)["rewards"]}


def balance(code: str) -> Decimal:
    participant = wiring.services().participant_store.get(code)
    assert participant is not None
    return participant.credit_balance


def reverse(referral_id: str, event_id: str = "re_1") -> None:
    """A refund of the referral, through the qualification service as every source's is."""
    referral = wiring.services().referral_store.get(referral_id)
    assert referral is not None
    wiring.qualification().process(
        Signal(
            source="test",
            event_id=event_id,
            campaign_id=referral.campaign_id,
            kind=SignalKind.REVERSE,
            match=SignalMatch(referral_id=referral_id),
            received_at=utcnow(),
        )
    )


def reversed_events(stack: AwsStack) -> list[dict[str, Any]]:
    return [event for event in stack.captured_events() if event["detail-type"] == "referral.reversed"]


def release_at(referral_id: str) -> datetime:
    return datetime.fromisoformat(rewards_of(referral_id)["advocate"]["release_at"])


def audit_actions(stack: AwsStack, referral_id: str) -> list[tuple[str, str]]:
    return sorted(
        (item["action"], item["actor"])
        for item in stack.items_of("audit")
        if item["pk"] == f"REFERRAL#{referral_id}" and item["action"].startswith("reward.")
    )


def test_a_held_reward_waits_pending_until_its_release_time_then_is_released_and_credited(
    stack: AwsStack,
) -> None:
    referral, qualified = held_referral(stack)
    assert issue_reward.handler(qualified, LambdaContext())["outcome"] == "issued"

    view = shown(referral["id"])
    assert view["status"] == "rewarded"
    held = rewards_of(referral["id"])
    assert {r["status"] for r in held.values()} == {"pending"}
    assert release_at(referral["id"]) == datetime.fromisoformat(view["qualified_at"]) + timedelta(days=1)
    assert balance(view["advocate"]["code"]) == 0
    assert balance(referral["referral_code"]) == 0

    assert wiring.releases().run().due == 0  # not due yet
    assert rewards_of(referral["id"])["advocate"]["status"] == "pending"

    report = wiring.releases().run(now=release_at(referral["id"]))

    assert (report.due, report.released, report.fulfilled, report.failed) == (2, 2, 2, [])
    paid = rewards_of(referral["id"])
    assert {r["status"] for r in paid.values()} == {"fulfilled"}
    assert all(r["released_at"] and r["fulfilled_at"] for r in paid.values())
    assert balance(view["advocate"]["code"]) == Decimal("20.00")
    assert balance(referral["referral_code"]) == Decimal("5.00")
    assert audit_actions(stack, referral["id"]) == [
        ("reward.fulfilled", "system:release_rewards"),
        ("reward.fulfilled", "system:release_rewards"),
        ("reward.released", "system:release_rewards"),
        ("reward.released", "system:release_rewards"),
    ]
    # Off the release index: a later run finds nothing, and credits nothing twice.
    assert wiring.releases().run(now=release_at(referral["id"]) + timedelta(days=30)).due == 0
    assert balance(view["advocate"]["code"]) == Decimal("20.00")


def test_without_a_hold_rewards_are_credited_at_once_and_never_on_the_release_index(stack: AwsStack) -> None:
    referral, qualified = held_referral(stack, {**HELD, "hold_days": "0"})
    issue_reward.handler(qualified, LambdaContext())

    paid = rewards_of(referral["id"])
    assert {(r["status"], r["release_at"], r["fulfilled_at"] is not None) for r in paid.values()} == {
        ("fulfilled", None, True)
    }
    assert not [item for item in stack.items_of("reward") if "gsi2pk" in item]
    assert balance(shown(referral["id"])["advocate"]["code"]) == Decimal("20.00")


def test_the_release_query_takes_only_what_is_due_the_earliest_first_in_bounded_pages(
    stack: AwsStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    single = {"amount": "10.00", "currency": "USD", "hold_days": "0.5"}
    referrals = []
    for friend in ("a@example.org", "b@example.org", "c@example.org"):
        referral, qualified = held_referral(stack, single, friend=friend)
        issue_reward.handler(qualified, LambdaContext())
        referrals.append(referral["id"])
    times = [release_at(referral_id) for referral_id in referrals]
    ledger = DynamoRewardLedger(wiring.table())
    monkeypatch.setattr(reward_adapter, "_PAGE", 1)  # one item a page: the query follows the pages

    assert ledger.due(times[0] - timedelta(microseconds=1), limit=10) == []
    assert [r.referral_id for r in ledger.due(times[1], limit=10)] == referrals[:2]
    assert [r.referral_id for r in ledger.due(times[2], limit=2)] == referrals[:2]  # bounded per run
    assert [r.referral_id for r in ledger.due(times[2], limit=10)] == referrals


class CrashAfterRelease(DynamoRewardLedger):
    """The release's write lands, then the run dies before the fulfilment."""

    def move(self, reward: Reward, moved: Reward, audit: AuditEntry, **kwargs: Any) -> RewardWrite:
        written = super().move(reward, moved, audit, **kwargs)
        if moved.status is RewardStatus.RELEASED:
            raise TimeoutError("the run stopped here")
        return written


def crashing_releases() -> ReleaseService:
    ledger = CrashAfterRelease(wiring.table())
    clawbacks = ClawbackService(
        wiring.services().referral_store, ledger, _NoProviders(), wiring.services().review_store
    )
    return ReleaseService(ledger, wiring.services().referral_store, clawbacks)


class _NoProviders:
    def cancel(self, reward: Reward) -> bool:
        raise AssertionError("credits never go to a provider")


def test_a_run_that_stopped_between_release_and_fulfilment_is_finished_by_the_next(stack: AwsStack) -> None:
    referral, qualified = held_referral(stack)
    issue_reward.handler(qualified, LambdaContext())
    due = release_at(referral["id"])

    crashed = crashing_releases().run(now=due)

    assert len(crashed.failed) == 2
    assert {r["status"] for r in rewards_of(referral["id"]).values()} == {"released"}
    assert balance(referral["referral_code"]) == 0
    finished = wiring.releases().run(now=due)
    assert (finished.released, finished.fulfilled) == (0, 2)
    assert {r["status"] for r in rewards_of(referral["id"]).values()} == {"fulfilled"}
    assert balance(referral["referral_code"]) == Decimal("5.00")


def test_the_release_function_reports_a_run_that_failed_on_a_reward(
    stack: AwsStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    referral, qualified = held_referral(stack)
    issue_reward.handler(qualified, LambdaContext())
    due = release_at(referral["id"])
    monkeypatch.setattr("referral_engine.services.releases.utcnow", lambda: due)
    with monkeypatch.context() as crashing:
        crashing.setattr(wiring.Services, "releases", property(lambda _: crashing_releases()))
        with pytest.raises(release_rewards.RewardsNotReleased):
            release_rewards.handler({"detail-type": "Scheduled Event", "detail": {}}, LambdaContext())

    assert release_rewards.handler({}, LambdaContext())["fulfilled"] == 2


def test_a_reversal_during_the_hold_cancels_the_rewards_and_nothing_is_ever_credited(stack: AwsStack) -> None:
    referral, qualified = held_referral(stack)
    issue_reward.handler(qualified, LambdaContext())

    reverse(referral["id"])
    # The schedule comes before the reversal's event: it credits nothing, it cancels them.
    report = wiring.releases().run(now=release_at(referral["id"]))
    [event] = reversed_events(stack)
    clawback = issue_reward.handler(event, LambdaContext())

    assert (report.fulfilled, report.taken_back) == (0, 2)
    assert set(clawback["rewards"].values()) == {"nothing"}  # the schedule did it first
    view = shown(referral["id"])
    assert view["status"] == "reversed"
    assert {(r["status"], r["cancelled_at"] is not None) for r in view["rewards"]} == {("cancelled", True)}
    assert balance(view["advocate"]["code"]) == 0
    assert balance(referral["referral_code"]) == 0


def test_a_reversal_after_fulfilment_debits_each_credit_once_however_often_it_is_delivered(
    stack: AwsStack,
) -> None:
    referral, qualified = held_referral(stack)
    issue_reward.handler(qualified, LambdaContext())
    wiring.releases().run(now=release_at(referral["id"]))
    advocate = shown(referral["id"])["advocate"]["code"]
    assert balance(advocate) == Decimal("20.00")

    reverse(referral["id"])
    [event] = reversed_events(stack)
    outcomes = [issue_reward.handler(event, LambdaContext())["rewards"] for _ in range(3)]

    assert [sorted(o.values()) for o in outcomes] == [
        ["clawed_back", "clawed_back"],
        ["nothing", "nothing"],
        ["nothing", "nothing"],
    ]
    assert {r["status"] for r in rewards_of(referral["id"]).values()} == {"clawed_back"}
    assert (balance(advocate), balance(referral["referral_code"])) == (Decimal(0), Decimal(0))
    actions = audit_actions(stack, referral["id"])
    assert actions.count(("reward.clawed_back", "system:issue_reward")) == 2


def test_a_released_credit_not_yet_handed_over_is_clawed_back_without_a_debit(stack: AwsStack) -> None:
    referral, qualified = held_referral(stack)
    issue_reward.handler(qualified, LambdaContext())
    crashing_releases().run(now=release_at(referral["id"]))

    reverse(referral["id"])
    [event] = reversed_events(stack)
    issue_reward.handler(event, LambdaContext())
    later = wiring.releases().run(now=release_at(referral["id"]))

    assert {r["status"] for r in rewards_of(referral["id"]).values()} == {"clawed_back"}
    assert later.due == 0  # off the release index
    assert (balance(shown(referral["id"])["advocate"]["code"]), balance(referral["referral_code"])) == (
        Decimal(0),
        Decimal(0),
    )


# ------------------------------------------------------------------ a provider's reward (issue 12)


class Providers:
    def __init__(self, can_cancel: bool) -> None:
        self.can_cancel = can_cancel
        self.cancelled: list[str] = []

    def cancel(self, reward: Reward) -> bool:
        self.cancelled.append(reward.id)
        return self.can_cancel


class Reviews:
    def __init__(self) -> None:
        self.opened: list[tuple[str, str, str]] = []

    def open_clawback(self, referral: Referral, reward: Reward, reason: str) -> None:
        self.opened.append((referral.id, reward.id, reason))


def provider_reward(stack: AwsStack) -> tuple[Referral, Reward]:
    """A fulfilled gift card of a reversed referral (written as issue 12's provider will write it)."""
    referral, qualified = held_referral(stack, {**HELD, "hold_days": "0"})
    issue_reward.handler(qualified, LambdaContext())
    item = next(i for i in stack.items_of("reward") if i["pk"] == f"REFERRAL#{referral['id']}")
    stack.dynamodb.update_item(
        TableName=wiring.table().name,
        Key={"pk": {"S": item["pk"]}, "sk": {"S": item["sk"]}},
        UpdateExpression="SET fulfilment = :gift",
        ExpressionAttributeValues={":gift": {"S": "giftcards"}},
    )
    reverse(referral["id"])
    stored = wiring.services().referral_store.get(referral["id"])
    assert stored is not None
    assert stored.status is ReferralStatus.REVERSED
    reward = DynamoRewardLedger(wiring.table()).of_referral(referral["id"])
    return stored, next(r for r in reward if r.fulfilment == "giftcards")


def clawbacks_with(providers: Providers, reviews: ReviewQueue) -> ClawbackService:
    ledger = DynamoRewardLedger(wiring.table())
    return ClawbackService(wiring.services().referral_store, ledger, providers, reviews)


def test_a_provider_reward_is_cancelled_at_its_provider_when_it_can_be(stack: AwsStack) -> None:
    referral, reward = provider_reward(stack)
    providers, reviews = Providers(can_cancel=True), Reviews()
    service = clawbacks_with(providers, reviews)

    assert service.take_back(referral, reward, "system:test") is ClawbackOutcome.CLAWED_BACK
    [again] = [r for r in DynamoRewardLedger(wiring.table()).of_referral(referral.id) if r.id == reward.id]
    assert service.take_back(referral, again, "system:test") is ClawbackOutcome.NOTHING

    assert providers.cancelled == [reward.id]
    assert reviews.opened == []
    assert rewards_of(referral.id)[reward.recipient]["status"] == "clawed_back"
    # A provider's reward was never on the ledger: no debit.
    assert balance(reward.recipient_code) == reward.amount


def test_a_provider_reward_that_cannot_be_cancelled_goes_to_the_review_queue(stack: AwsStack) -> None:
    referral, reward = provider_reward(stack)
    queue = wiring.services().review_store
    service = clawbacks_with(Providers(can_cancel=False), queue)

    assert service.take_back(referral, reward, "system:test") is ClawbackOutcome.REVIEW
    assert service.take_back(referral, reward, "system:test") is ClawbackOutcome.REVIEW  # redelivered

    page = queue.page(
        campaign_id=referral.campaign_id, kind=None, reason=None, opened_before=None, limit=10, cursor=None
    )
    [item] = page.items
    assert (item.kind, item.referral_id, item.reward_recipient) == ("clawback", referral.id, reward.recipient)
    assert item.reasons == ("clawback_needed",)
    assert rewards_of(referral.id)[reward.recipient]["status"] == "fulfilled"  # until an admin decides
    assert ("reward.clawback_needed", "system:test") in audit_actions(stack, referral.id)


def test_a_clawback_for_a_referral_that_is_not_reversed_takes_nothing(stack: AwsStack) -> None:
    referral, qualified = held_referral(stack)
    issue_reward.handler(qualified, LambdaContext())
    detail = {
        **qualified["detail"],
        "reversed_at": utcnow().isoformat(),
        "previous_status": "rewarded",
        "reason": "not so",
        "rewards_issued": True,
    }
    forged = {"detail-type": "referral.reversed", "detail": detail}

    assert issue_reward.handler(forged, LambdaContext())["rewards"] == {}
    assert {r["status"] for r in rewards_of(referral["id"]).values()} == {"pending"}


# ------------------------------------------------------------------ any order, exactly once

STEPS = ("issue", "release", "crash_release", "reverse", "deliver_reversals")


class Scenario:
    """One held, double-sided referral, qualified; the steps a deployment could take in any order."""

    def __init__(self, stack: AwsStack) -> None:
        self.stack = stack
        referral, self.qualified = held_referral(stack)
        stored = wiring.services().referral_store.get(referral["id"])
        assert stored is not None
        self.referral = stored
        self.codes = (stored.advocate_code, stored.referred_code)
        self.due = utcnow() + timedelta(days=2)
        self.reversals: list[dict[str, Any]] = []
        self.refunds = 0

    def take(self, step: str) -> None:
        if step == "issue":
            issue_reward.handler(self.qualified, LambdaContext())
        elif step == "release":
            wiring.releases().run(now=self.due)
        elif step == "crash_release":
            crashing_releases().run(now=self.due)
        elif step == "reverse":
            self.refunds += 1
            reverse(self.referral.id, event_id=f"re_{self.refunds}")
            self.reversals += reversed_events(self.stack)
        else:  # every reversal announced so far, again (EventBridge delivers at least once)
            for event in self.reversals:
                issue_reward.handler(event, LambdaContext())

    def check(self) -> None:
        history = wiring.services().referral_store.history(self.referral.id)
        assert history is not None
        rewards = {reward.id: reward for reward in history.rewards}
        fulfilled = [
            entry.detail["reward_id"] for entry in history.audit if entry.action == "reward.fulfilled"
        ]
        assert len(fulfilled) == len(set(fulfilled)), "a reward was credited twice"
        for code in self.codes:
            held = sum(
                (
                    r.amount
                    for r in rewards.values()
                    if r.recipient_code == code and r.status is RewardStatus.FULFILLED
                ),
                Decimal(0),
            )
            assert balance(code) == held, "the balance is not the sum of the credits standing"
        reversed_at = history.referral.reversed_at
        if reversed_at is not None:
            late = [
                r for r in rewards.values() if r.fulfilled_at is not None and r.fulfilled_at > reversed_at
            ]
            assert late == [], "a reward of a reversed referral was credited"

    def settle(self) -> None:
        """What the deployment does by itself afterwards: the bus's deliveries, the schedule's runs."""
        self.take("deliver_reversals")
        self.take("release")
        history = wiring.services().referral_store.history(self.referral.id)
        assert history is not None
        statuses = {reward.status for reward in history.rewards}
        if history.referral.status is ReferralStatus.REVERSED:
            assert statuses <= {RewardStatus.CANCELLED, RewardStatus.CLAWED_BACK}
            assert [balance(code) for code in self.codes] == [0, 0]
        elif history.rewards:
            assert statuses == {RewardStatus.FULFILLED}


@settings(
    max_examples=4,  # ~1.5 s each; derandomized: the same interleavings every run
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# The races that matter, always tried; hypothesis adds others.
@example(steps=["issue", "reverse", "release", "deliver_reversals"])  # the schedule before the clawback
@example(steps=["issue", "crash_release", "reverse", "release", "deliver_reversals"])
@example(steps=["issue", "release", "reverse", "deliver_reversals", "deliver_reversals"])
@example(steps=["reverse", "deliver_reversals", "issue", "release"])  # the reversal first
@given(steps=st.lists(st.sampled_from(STEPS), min_size=2, max_size=7))
def test_any_interleaving_of_issue_releases_and_reversals_credits_once_and_never_a_reversed_referral(
    stack: AwsStack, steps: list[str]
) -> None:
    scenario = Scenario(stack)
    for step in steps:
        scenario.take(step)
        scenario.check()
    scenario.settle()
    scenario.check()
