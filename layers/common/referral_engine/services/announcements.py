"""Announcing new referrals as `referral.created` on the bus: from the table's stream
(functions/announce_referrals) and again when an admin redrives a batch the stream could not announce;
and the review queue's moves of a referral (`referral.in_review`, `.approved`, `.rejected`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from referral_engine.domain.events import (
    ReferralApproved,
    ReferralCreated,
    ReferralInReview,
    ReferralRejected,
    ReviewEvent,
)
from referral_engine.domain.models import Referral, ReferralStatus, utcnow
from referral_engine.domain.records import Invalid, parse, problems
from referral_engine.ports import CreatedEventPublisher, ReviewEventPublisher


class InvalidReferralItem(ValueError):
    """The image is not a referral: retrying cannot fix it, and there is no event to build from it."""


class ReferralAnnouncer:
    def __init__(self, publisher: CreatedEventPublisher) -> None:
        self._publisher = publisher

    def announce(self, referral: Referral) -> ReferralCreated:
        event = ReferralCreated(
            referral_id=referral.id,
            campaign_id=referral.campaign_id,
            advocate_code=referral.advocate_code,
            referred_code=referral.referred_code,
            joined_at=referral.joined_at,
            correlation_id=referral.correlation_id,
        )
        self._publisher.publish_created(event)
        return event

    def announce_item(self, image: Mapping[str, Any]) -> ReferralCreated:
        """A referral item as the stream delivers it (deserialised); `InvalidReferralItem` if it is none."""
        try:
            referral = parse(Referral, image)
        except Invalid as error:
            raise InvalidReferralItem(problems(error, "referral")) from None
        return self.announce(referral)


def _review_of(image: Mapping[str, Any]) -> dict[str, Any]:
    """What a referral item keeps of its review (adapters/dynamodb/reviews.referral_review)."""
    review = image.get("review")
    return review if isinstance(review, dict) else {}


class ReviewAnnouncer:
    """The review queue's events from a referral item's images on the stream (docs/adr/0019): a
    referral created `in_review`, and a status move into or out of review. Other changes: nothing."""

    def __init__(self, publisher: ReviewEventPublisher) -> None:
        self._publisher = publisher

    def announce_change(self, old: Mapping[str, Any], new: Mapping[str, Any]) -> ReviewEvent | None:
        """`old` is {} for an INSERT. Raises InvalidReferralItem for a new image that is no referral."""
        try:
            referral = parse(Referral, new)
        except Invalid as error:
            raise InvalidReferralItem(problems(error, "referral")) from None
        before = old.get("status")
        if referral.status == before:
            return None
        event = self._event(referral, before, new)
        if event is not None:
            self._publisher.publish_review(event)
        return event

    @staticmethod
    def _event(referral: Referral, before: Any, new: Mapping[str, Any]) -> ReviewEvent | None:
        review = _review_of(new)
        who = {
            "referral_id": referral.id,
            "campaign_id": referral.campaign_id,
            "advocate_code": referral.advocate_code,
            "referred_code": referral.referred_code,
            "review_id": review.get("id"),
        }
        # An item without either (written by hand): the time it is announced.
        decided_at = review.get("decided_at") or new.get("updated_at") or utcnow()
        if referral.status is ReferralStatus.IN_REVIEW:
            return parse(
                ReferralInReview,
                {
                    **who,
                    "reasons": review.get("reasons") or [],
                    "in_review_at": (new.get("updated_at") or utcnow()) if before else referral.joined_at,
                    "correlation_id": referral.correlation_id,
                },
            )
        if before == ReferralStatus.IN_REVIEW and referral.status is ReferralStatus.PENDING:
            return parse(ReferralApproved, {**who, "approved_at": decided_at})
        if referral.status is ReferralStatus.REJECTED:
            return parse(ReferralRejected, {**who, "rejected_at": decided_at})
        return None


class StreamAnnouncers(NamedTuple):
    """What announce_referrals publishes, for an admin's redrive of a batch it could not announce."""

    created: ReferralAnnouncer
    reviews: ReviewAnnouncer
