"""The review queue's use cases: list, show, decide (one, or up to 25 at once) (docs/adr/0019).

A decision is exactly-once: the store's transaction is conditioned on the item still being open, so
of two admins deciding at once one wins and the other gets `review_decided` (409). Approving a fraud
item replays the qualifying signal held while the referral was in review into the signal inbox, under
a new event id (`redrive_of` the original), so the normal pipeline qualifies and rewards it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from referral_engine.domain.errors import Conflict, DomainError, InvalidRequest, NotFound
from referral_engine.domain.models import (
    AuditEntry,
    Participant,
    Referral,
    ReferralStatus,
    Reward,
    Signal,
    utcnow,
)
from referral_engine.domain.records import replace
from referral_engine.domain.reviews import (
    Decision,
    ReviewItem,
    ReviewKind,
    audit_action,
    referral_move,
    reward_event,
)
from referral_engine.domain.reward_events import moved
from referral_engine.domain.states import REFERRALS
from referral_engine.ports import (
    DecideAgain,
    ParticipantStore,
    ReferralHistory,
    ReferralStore,
    ReviewPage,
    ReviewStore,
)
from referral_engine.services.admin_redrive import redriven

_ATTEMPTS = 3  # a signal kept between reading and deciding: read again (each loss means one was kept)
RECENT_REFERRALS = 10


@dataclass(frozen=True)
class ReviewDetail:
    """What an admin needs to decide: the item, the referral with its rewards and audit trail (the
    fraud findings are in its `referral.created` entry), the held signal, the advocate's history."""

    review: ReviewItem
    history: ReferralHistory
    held_signal: Signal | None
    advocate: Participant | None
    advocate_referrals: list[Referral] = field(default_factory=list)


@dataclass(frozen=True)
class BulkOutcome:
    review_id: str
    status: int  # 200 decided, 404 unknown, 409 decided already or no longer decidable
    review: ReviewItem | None = None
    error: DomainError | None = None


class ReviewService:
    def __init__(
        self, reviews: ReviewStore, referrals: ReferralStore, participants: ParticipantStore
    ) -> None:
        self._reviews = reviews
        self._referrals = referrals
        self._participants = participants

    def page(
        self,
        *,
        campaign_id: str | None = None,
        kind: ReviewKind | None = None,
        reason: str | None = None,
        older_than_seconds: int | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> ReviewPage:
        opened_before = (
            utcnow() - timedelta(seconds=older_than_seconds) if older_than_seconds is not None else None
        )
        try:
            return self._reviews.page(
                campaign_id=campaign_id,
                kind=kind,
                reason=reason,
                opened_before=opened_before,
                limit=limit,
                cursor=cursor,
            )
        except ValueError as error:
            raise InvalidRequest("the cursor is not valid") from error

    def oldest_age_seconds(self) -> float:
        """How long the oldest open item has waited (0 for an empty queue): the alarm's metric."""
        oldest = self._reviews.oldest_open()
        return oldest.age_seconds(utcnow()) if oldest else 0.0

    def show(self, review_id: str) -> ReviewDetail:
        review = self._get(review_id)
        history = self._referrals.history(review.referral_id)
        if history is None:
            raise NotFound(f"no referral {review.referral_id}")
        referral = history.referral
        advocate = self._participants.get(referral.advocate_code)
        return ReviewDetail(
            review=review,
            history=history,
            held_signal=self._reviews.held_signal(referral.id),
            advocate=self._participants.with_clicks(advocate) if advocate else None,
            advocate_referrals=self._reviews.advocate_referrals(
                referral.campaign_id, referral.advocate_code, limit=RECENT_REFERRALS
            ),
        )

    def decide(self, review_id: str, decision: Decision, *, reason: str, operator: str) -> ReviewItem:
        """Raises NotFound, ReviewDecided (409), or Conflict when what it decides on has moved."""
        for _ in range(_ATTEMPTS):
            review = self._get(review_id)
            decided = review.decided(decision, by=operator, at=utcnow(), reason=reason)
            referral = self._referrals.get(review.referral_id)
            if referral is None:
                raise NotFound(f"no referral {review.referral_id}")
            try:
                if review.kind is ReviewKind.FRAUD:
                    self._decide_fraud(decided, decision, referral)
                else:
                    self._decide_clawback(decided, decision, referral)
            except DecideAgain:
                continue
            return decided
        raise Conflict(f"review {review_id}: its referral kept receiving signals; try again")

    def decide_many(
        self, review_ids: list[str], decision: Decision, *, reason: str, operator: str
    ) -> list[BulkOutcome]:
        outcomes = []
        for review_id in review_ids:
            try:
                decided = self.decide(review_id, decision, reason=reason, operator=operator)
            except NotFound as error:
                outcomes.append(BulkOutcome(review_id, 404, error=error))
            except Conflict as error:
                outcomes.append(BulkOutcome(review_id, 409, error=error))
            else:
                outcomes.append(BulkOutcome(review_id, 200, review=decided))
        return outcomes

    # ------------------------------------------------------------------------------------ deciding
    def _get(self, review_id: str) -> ReviewItem:
        review = self._reviews.get(review_id)
        if review is None:
            raise NotFound(f"no review {review_id}")
        return review

    def _audit(self, decided: ReviewItem, decision: Decision, **detail: Any) -> AuditEntry:
        return AuditEntry(
            referral_id=decided.referral_id,
            at=decided.decided_at or utcnow(),
            action=audit_action(decided, decision),
            actor=f"admin:{decided.decided_by}",
            detail={
                "review_id": decided.id,
                "reason": decided.decision_reason,
                "reasons": list(decided.reasons),
                **detail,
            },
        )

    def _decide_fraud(self, decided: ReviewItem, decision: Decision, referral: Referral) -> None:
        """The move is from `in_review`, whatever was read: the store's write is conditioned on it, and
        on the item still being open (so a decision read stale loses as `review_decided`)."""
        target = referral_move(decided, decision)
        REFERRALS.require(ReferralStatus.IN_REVIEW, *((target,) if target else ()))
        held = self._reviews.held_signal(referral.id) if target is ReferralStatus.PENDING else None
        replay = _replay(held) if held else None
        detail = {"replayed_signal": replay.key, "held_signal": held.key} if held and replay else {}
        audit = replace(
            self._audit(decided, decision, **detail),
            from_status=ReferralStatus.IN_REVIEW,
            to_status=target,
        )
        self._reviews.decide(decided, audit, held=held, replay=replay)

    def _decide_clawback(self, decided: ReviewItem, decision: Decision, referral: Referral) -> None:
        history = self._referrals.history(referral.id)
        reward = (
            next((r for r in history.rewards if r.recipient == decided.reward_recipient), None)
            if history
            else None
        )
        if reward is None:
            raise NotFound(f"referral {referral.id} has no {decided.reward_recipient} reward")
        event = reward_event(decided, decision)
        after: Reward | None = reward if event is None else moved(reward, event)
        if after is None:
            raise Conflict(f"reward {reward.id} is {reward.status}: it cannot be clawed back")
        audit = self._audit(
            decided,
            decision,
            reward_id=reward.id,
            from_reward_status=reward.status,
            reward_status=after.status,
        )
        self._reviews.decide(decided, audit, reward=(reward, after))


def _replay(held: Signal) -> Signal:
    """The held signal under a new event id (`redrive_of` the original), received now; when it
    happened is kept, so the milestone judges it as it did (within_days counts from the signup)."""
    signal, _ = redriven(held, int(time.time() * 1000))
    return replace(signal, occurred_at=held.occurred_at or held.received_at, received_at=utcnow())
