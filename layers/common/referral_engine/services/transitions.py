"""The services' check of a referral's status move against its state machine, before the write."""

from __future__ import annotations

from referral_engine.domain.errors import IllegalTransition
from referral_engine.domain.models import AuditEntry, Referral, ReferralStatus, utcnow
from referral_engine.domain.states import REFERRALS
from referral_engine.ports import ReferralStore


def require_moves(referrals: ReferralStore, referral: Referral, *moves: AuditEntry) -> None:
    """Raises IllegalTransition unless the table has each move, from the status `referral` was read in.

    `moves` are the audit entries of the moves one write is to make, in order (their `to_status`).
    A refusal is audited first: what was attempted, from and to which status, by whom, and why.
    """
    path: list[ReferralStatus] = []
    for move in moves:
        if move.to_status is None:
            raise ValueError(f"the audit entry of a move names its target status: {move.action}")
        path.append(move.to_status)
    try:
        REFERRALS.require(referral.status, *path)
    except IllegalTransition as refused:
        referrals.append_audit(
            AuditEntry(
                referral_id=referral.id,
                at=utcnow(),
                action="referral.transition_refused",
                actor=moves[0].actor,
                from_status=referral.status,
                to_status=path[-1],
                detail={"attempted": [move.action for move in moves], "reason": refused.message},
            )
        )
        raise
