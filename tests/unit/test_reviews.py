"""The review queue's rules (domain/reviews.py) and its events from the stream (services/announcements.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from referral_engine.adapters.eventbridge import EventBridgePublisher
from referral_engine.domain.models import Referral, ReferralStatus
from referral_engine.domain.reviews import (
    CLAWBACK_NEEDED,
    Decision,
    ReviewDecided,
    ReviewKind,
    ReviewStatus,
    audit_action,
    clawback_review,
    fraud_review,
    referral_move,
    reward_event,
)
from referral_engine.domain.reward_events import RewardEvent
from referral_engine.domain.states import REFERRALS
from referral_engine.services.announcements import ReviewAnnouncer
from support.bus import Events

AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
REFERRAL = Referral(
    id="ref_1",
    campaign_id="cmp_1",
    advocate_code="ada",
    referred_code="grace",
    referred_email="grace@example.org",
    status=ReferralStatus.IN_REVIEW,
    joined_at=AT,
)


def test_a_fraud_item_is_opened_with_the_verdicts_reasons_and_a_clawback_item_with_its_own() -> None:
    fraud = fraud_review(REFERRAL, ["self_referral_email", "velocity_advocate_hour"], AT)
    clawback = clawback_review(REFERRAL, "friend", AT)

    assert (fraud.kind, fraud.status, fraud.reasons) == (
        ReviewKind.FRAUD,
        ReviewStatus.OPEN,
        ("self_referral_email", "velocity_advocate_hour"),
    )
    assert (clawback.kind, clawback.reasons, clawback.reward_recipient) == (
        ReviewKind.CLAWBACK,
        (CLAWBACK_NEEDED,),
        "friend",
    )
    assert fraud.id.startswith("rev_")
    assert fraud.id != clawback.id


def test_approving_a_fraud_item_sends_the_referral_back_to_pending_and_rejecting_it_rejects_it() -> None:
    item = fraud_review(REFERRAL, ["self_referral_email"], AT)

    assert referral_move(item, Decision.APPROVE) is ReferralStatus.PENDING
    assert referral_move(item, Decision.REJECT) is ReferralStatus.REJECTED
    assert (reward_event(item, Decision.APPROVE), reward_event(item, Decision.REJECT)) == (None, None)
    for decision in Decision:
        target = referral_move(item, decision)
        assert target is not None
        assert REFERRALS.allows(ReferralStatus.IN_REVIEW, target)
    assert audit_action(item, Decision.APPROVE) == "referral.approved"


def test_approving_a_clawback_item_reverses_the_reward_and_rejecting_it_waives_the_clawback() -> None:
    item = clawback_review(REFERRAL, "advocate", AT)

    assert reward_event(item, Decision.APPROVE) is RewardEvent.REVERSE
    assert reward_event(item, Decision.REJECT) is None
    assert referral_move(item, Decision.APPROVE) is None
    assert audit_action(item, Decision.REJECT) == "reward.clawback_waived"


def test_an_item_is_decided_once() -> None:
    item = fraud_review(REFERRAL, ["self_referral_email"], AT)

    decided = item.decided(
        Decision.REJECT, by="arn:aws:iam::1:user/ada", at=AT + timedelta(hours=1), reason="x"
    )

    assert (decided.status, decided.decided_by, decided.decision_reason) == (
        ReviewStatus.REJECTED,
        "arn:aws:iam::1:user/ada",
        "x",
    )
    assert decided.age_seconds(AT + timedelta(hours=2)) == 7200
    with pytest.raises(ReviewDecided, match="rejected by arn:aws:iam::1:user/ada"):
        decided.decided(Decision.APPROVE, by="bob", at=AT, reason="y")


# ------------------------------------------------------------------------------------ events
ITEM: dict[str, Any] = {
    "entity": "referral",
    "id": "ref_1",
    "campaign_id": "cmp_1",
    "advocate_code": "ada",
    "referred_code": "grace",
    "referred_email": "grace@example.org",
    "status": "in_review",
    "joined_at": AT.isoformat(),
    "review": {"id": "rev_1", "reasons": ["self_referral_email"], "status": "open"},
}
DECIDED = "2026-12-01T10:00:00+00:00"


def announced(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    events = Events()
    ReviewAnnouncer(EventBridgePublisher(events, "bus")).announce_change(old, new)  # type: ignore[arg-type]
    return [(entry["DetailType"], json.loads(entry["Detail"])) for entry in events.entries]


def test_a_referral_created_in_review_is_announced_with_its_reasons() -> None:
    [(kind, detail)] = announced({}, ITEM)

    assert kind == "referral.in_review"
    assert (detail["review_id"], detail["reasons"], detail["in_review_at"]) == (
        "rev_1",
        ["self_referral_email"],
        "2026-12-01T09:00:00Z",
    )
    assert "referred_email" not in detail


@pytest.mark.parametrize(
    ("status", "kind", "at"),
    [("pending", "referral.approved", "approved_at"), ("rejected", "referral.rejected", "rejected_at")],
)
def test_a_decision_is_announced_when_it_has_moved_the_referral(status: str, kind: str, at: str) -> None:
    review = {**ITEM["review"], "status": "approved", "decided_at": DECIDED}

    [(announced_kind, detail)] = announced(ITEM, {**ITEM, "status": status, "review": review})

    assert (announced_kind, detail["review_id"], detail[at]) == (kind, "rev_1", "2026-12-01T10:00:00Z")


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ({**ITEM, "status": "pending"}, {**ITEM, "status": "pending", "held_reversal": {}}),
        ({**ITEM, "status": "pending"}, {**ITEM, "status": "qualified"}),
        ({**ITEM, "status": "qualified"}, {**ITEM, "status": "rewarded"}),
    ],
)
def test_other_changes_announce_nothing(old: dict[str, Any], new: dict[str, Any]) -> None:
    assert announced(old, new) == []
