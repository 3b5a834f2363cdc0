"""Random interleavings (hypothesis) of payments, admins' decisions and the pipeline's runs for a
flagged referral, against moto: it is never paid without an approval, paid once at most with one,
and every referral move it made is one the transition table allows (docs/adr/0019)."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import issue_reward
import qualify
from referral_engine import wiring
from referral_engine.domain.errors import Conflict
from referral_engine.domain.models import ReferralStatus
from referral_engine.domain.reviews import Decision
from referral_engine.domain.states import REFERRALS
from support.aws import AwsStack
from support.events import LambdaContext
from support.journey import create_campaign, enrol, qualify_via_api, sign_up

STEPS = st.lists(
    st.sampled_from(["pay", "pay again", "approve", "reject", "qualify", "reward"]), min_size=1, max_size=8
)


def run_pipeline(stack: AwsStack, step: str) -> None:
    """One run of qualify (the stream so far) or issue_reward (the bus so far), if there is work."""
    if step == "qualify":
        batch = stack.stream_batch()
        if batch["Records"]:
            assert qualify.handler(batch, LambdaContext("qualify"))["batchItemFailures"] == []
    else:
        for event in stack.captured_events():
            issue_reward.handler(event, LambdaContext("issue_reward"))


@settings(
    max_examples=6,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=(Phase.explicit, Phase.generate),
)
@given(steps=STEPS)
def test_a_flagged_referral_is_paid_only_after_an_approval_and_once(
    module_stack: AwsStack, steps: list[str]
) -> None:
    stack = module_stack
    code = enrol(create_campaign()["id"], "ada.lovelace@gmail.com")["code"]
    referral = sign_up(code, "adalovelace+again@gmail.com")
    [review] = [r for r in wiring.reviews().page(limit=100).items if r.referral_id == referral["id"]]
    approved = paid = False
    for step in steps:
        if step.startswith("pay"):
            event_id = "order-2" if step == "pay again" else "order-1"
            assert qualify_via_api(referral["id"], event_id=event_id)["statusCode"] == 202
            paid = True
        elif step in ("approve", "reject"):
            try:
                wiring.reviews().decide(review.id, Decision(step), reason="test", operator="tester")
            except Conflict:
                continue
            approved = step == "approve"
        else:
            run_pipeline(stack, step)
    for step in ("qualify", "reward", "qualify", "reward"):  # the pipeline catches up
        run_pipeline(stack, step)

    history = wiring.services().referral_store.history(referral["id"])
    assert history is not None
    status, rewards = history.referral.status, history.rewards
    if not approved:
        assert rewards == []
        assert status in (ReferralStatus.IN_REVIEW, ReferralStatus.REJECTED)
    elif paid:
        assert status is ReferralStatus.REWARDED
        assert sorted(reward.recipient for reward in rewards) == ["advocate", "friend"]
    else:
        assert (status, rewards) == (ReferralStatus.PENDING, [])
    moves: list[Any] = [(e.from_status, e.to_status) for e in history.audit if e.to_status is not None]
    assert moves[0] == (None, ReferralStatus.IN_REVIEW)
    for source, target in moves[1:]:
        assert REFERRALS.allows(source, target)
    decisions = [e.action for e in history.audit if e.action in ("referral.approved", "referral.rejected")]
    assert len(decisions) == (1 if "approve" in steps or "reject" in steps else 0)
