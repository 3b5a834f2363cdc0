"""The services' check of a move before the write: refused moves are audited, allowed ones are not."""

from __future__ import annotations

import pytest

from referral_engine.domain.errors import IllegalTransition
from referral_engine.domain.models import AuditEntry, Referral, ReferralStatus, utcnow
from referral_engine.services.transitions import require_moves
from support.fakes import World


def move(referral: Referral, action: str, to: ReferralStatus) -> AuditEntry:
    return AuditEntry(
        referral_id=referral.id, at=utcnow(), action=action, actor="signal:test:1", to_status=to
    )


@pytest.fixture
def referral(world: World) -> Referral:
    return world.a_referral(world.an_advocate(world.a_campaign()), "bob@example.com")


def test_each_move_of_one_write_is_checked_in_order(world: World, referral: Referral) -> None:
    qualified = move(referral, "referral.qualified", ReferralStatus.QUALIFIED)
    reversed_ = move(referral, "referral.reversed", ReferralStatus.REVERSED)
    audit_before = world.history(referral.id).audit

    require_moves(world.backend.referrals, referral, qualified, reversed_)  # pending → qualified → reversed
    assert world.history(referral.id).audit == audit_before

    rewarded = world.backend.referrals.force_status(referral.id, ReferralStatus.REWARDED)
    with pytest.raises(IllegalTransition, match="from rewarded to qualified"):
        require_moves(world.backend.referrals, rewarded, qualified, reversed_)

    [entry] = [e for e in world.history(referral.id).audit if e.action == "referral.transition_refused"]
    assert (entry.actor, entry.from_status, entry.to_status) == (
        "signal:test:1",
        ReferralStatus.REWARDED,
        ReferralStatus.REVERSED,
    )
    assert entry.detail == {
        "attempted": ["referral.qualified", "referral.reversed"],
        "reason": "a referral cannot go from rewarded to qualified",
    }
