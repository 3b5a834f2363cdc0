"""The release schedule: each run releases the rewards whose hold is over, then fulfils them
(docs/adr/0020).

A reward stays on the release index until it is fulfilled or taken back, so a run that crashed
between the release and the fulfilment is finished by the next one. Both moves are conditional on
the reward's status and on its referral not being reversed: a reward of a reversed referral is
never fulfilled; the run takes it back instead (the clawback the reversal's event also asks for —
whichever comes first does it, the other finds nothing left to do).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from referral_engine.domain.models import CREDIT, Reward, RewardStatus, utcnow
from referral_engine.domain.reward_events import RewardEvent
from referral_engine.domain.rewards import moved_at, reward_audit
from referral_engine.ports import ReferralStore, RewardLedger
from referral_engine.services.clawbacks import ClawbackService

ACTOR = "system:release_rewards"
MAX_PER_RUN = 500  # what one run (30 s) surely finishes; the rest is due at the next
_NEXT = {RewardStatus.PENDING: RewardEvent.RELEASE, RewardStatus.RELEASED: RewardEvent.FULFIL}
_ATTEMPTS = 4  # release and fulfil, and a read again after each if another writer moved it first
_WHY = {RewardEvent.RELEASE: "its hold period is over", RewardEvent.FULFIL: "credited to the recipient"}


@dataclass
class ReleaseReport:
    due: int = 0
    released: int = 0
    fulfilled: int = 0
    taken_back: int = 0
    failed: list[str] = field(default_factory=list)  # reward ids, left on the index for the next run


class ReleaseService:
    def __init__(self, ledger: RewardLedger, referrals: ReferralStore, clawbacks: ClawbackService) -> None:
        self._ledger = ledger
        self._referrals = referrals
        self._clawbacks = clawbacks

    def run(self, now: datetime | None = None, *, limit: int = MAX_PER_RUN) -> ReleaseReport:
        report = ReleaseReport()
        due = self._ledger.due(now or utcnow(), limit=limit)
        report.due = len(due)
        for reward in due:
            try:
                self._advance(reward, report)
            except Exception:  # one reward's failure holds up no other; the next run tries it again
                report.failed.append(reward.id)
        return report

    def _advance(self, reward: Reward, report: ReleaseReport) -> None:
        current: Reward | None = reward
        for _ in range(_ATTEMPTS):
            if current is None or current.status not in _NEXT:
                return
            event = _NEXT[current.status]
            if event is RewardEvent.FULFIL and current.fulfilment != CREDIT:
                return  # a provider fulfils its own rewards (issue 12)
            now = utcnow()
            after = moved_at(current, event, now)
            if after is None:
                raise RuntimeError(f"{event} does not apply to a {current.status} reward")
            write = self._ledger.move(
                current,
                after,
                reward_audit(current, after, ACTOR, now, _WHY[event]),
                credit=current.amount if event is RewardEvent.FULFIL else None,
                unless_reversed=True,
            )
            if write.referral_reversed:
                referral = self._referrals.get(current.referral_id)
                if referral is not None:
                    self._clawbacks.take_back(referral, current, ACTOR)
                    report.taken_back += 1
                return
            if not write.applied:
                current = write.current  # moved on meanwhile: carry on from where it is
                continue
            if event is RewardEvent.RELEASE:
                report.released += 1
            else:
                report.fulfilled += 1
            current = after
