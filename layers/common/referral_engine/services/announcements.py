"""Announcing new referrals as `referral.created` on the bus: from the table's stream
(functions/announce_referrals) and again when an admin redrives a batch the stream could not announce."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from referral_engine.domain.events import ReferralCreated
from referral_engine.domain.models import Referral
from referral_engine.domain.records import Invalid, parse, problems
from referral_engine.ports import CreatedEventPublisher


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
