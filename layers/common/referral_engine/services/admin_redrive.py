"""What redriving a message of each queue means. Redrives may safely repeat: exactly-once is guaranteed
downstream by the conditional transitions.

- `exceptions` and `qualify-failure`: the signal is stored again as a NEW signal item (its event id
  gets a `~redrive-{unix ms}` suffix, the item a `redrive_of` attribute), so the table stream hands it
  to qualify again. A qualify-failure message holds only stream pointers: the records are read back
  from the stream first (possible for 24 hours). One exception: a signal that did qualify its
  referral but whose `referral.qualified` event was never published (qualify failed between the
  write and the publish) is re-announced by the qualification service itself, since under a new
  event id it would only be a duplicate.
- `reward-events` and `issue-reward-failure`: the original `referral.qualified` (or, for the
  clawback, `referral.reversed`) event goes back on the bus.
- `hook-events` and `deliver-events-failure`: the original `referral.created`, `.qualified` or
  `.reversed` event goes back on the bus. Every rule matching it runs again; deliver_events' delivery
  log (7 days) skips the targets that took it already, and issue_reward rewards exactly once.
- `announce-referrals-failure` (stream pointers only): the records are read back from the stream
  (24 hours), and each referral INSERT among them is announced as `referral.created` again by the
  ReferralAnnouncer: the same event announce_referrals publishes (tests/unit/test_announcements.py);
  with the moves into and out of review among them (`referral.in_review`, `.approved`, `.rejected`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from referral_engine.domain.models import MAX_EVENT_ID, AuditEntry, Referral, ReferralStatus, Signal, utcnow
from referral_engine.domain.records import Invalid, parse, replace
from referral_engine.ports import (
    EventRepublisher,
    ParticipantStore,
    QueuedMessage,
    ReferralStore,
    SignalInbox,
    StreamRecords,
)
from referral_engine.services.admin_messages import (
    EXCEPTIONS,
    STREAM_POINTERS,
    QueueName,
    original_event,
)
from referral_engine.services.announcements import StreamAnnouncers
from referral_engine.services.matching import ReferralMatcher
from referral_engine.services.qualification import Outcome, QualificationService

REDRIVE_MARK = "~redrive-"
EVENT_QUEUES: tuple[QueueName, ...] = (
    "reward-events",
    "issue-reward-failure",
    "hook-events",
    "deliver-events-failure",
)


class ActionFailed(RuntimeError):
    """The action cannot be done on this message (it stays in the queue); the text says what to do."""


@dataclass(frozen=True)
class Redriven:
    detail: str
    signals: list[str] = field(default_factory=list)  # keys of the signals stored again
    referrals: list[str] = field(default_factory=list)  # ids of the referrals announced again


def redriven(signal: Signal, at_ms: int) -> tuple[Signal, str]:
    """The signal under a new event id, and the original event id (a redrive of a redrive keeps it)."""
    original = signal.event_id.split(REDRIVE_MARK, 1)[0]
    suffix = f"{REDRIVE_MARK}{at_ms}"
    event_id = original[: MAX_EVENT_ID - len(suffix)] + suffix
    return replace(signal, event_id=event_id, redrive_of=original), original


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def stored_signal(message: QueuedMessage) -> Signal | None:
    """The signal an exceptions-queue message holds, if it is a valid one."""
    image = _dict(_dict(_dict(message.json_body()).get("payload")).get("signal"))
    try:
        return parse(Signal, image) if image else None
    except Invalid:
        return None


class Redriver:
    def __init__(
        self,
        *,
        participants: ParticipantStore,
        referrals: ReferralStore,
        inbox: SignalInbox,
        stream: StreamRecords,
        republisher: EventRepublisher,
        qualification: QualificationService,
        announcers: StreamAnnouncers,
        bus_name: str,
    ) -> None:
        self._matcher = ReferralMatcher(participants, referrals)
        self._referrals = referrals
        self._inbox = inbox
        self._stream = stream
        self._republisher = republisher
        self._qualification = qualification
        self._announcer, self._reviews = announcers
        self._bus_name = bus_name

    def redrive(
        self, name: QueueName, message: QueuedMessage, *, operator: str, reason: str | None
    ) -> Redriven:
        if name == "announce-referrals-failure":
            return self._announce_again(message)
        if name in EVENT_QUEUES:
            event = original_event(name, message)
            self._republisher.republish(event)
            return Redriven(f"{event['detail-type']} put back on the bus {self._bus_name}")
        return self._redrive_signals(name, message, operator, reason)

    def audit(
        self, signal: Signal, action: str, message: QueuedMessage, operator: str, detail: dict[str, Any]
    ) -> None:
        """An audit entry on the referral the signal names, if it names one."""
        referral = self._matcher.find(signal)
        if referral is None:
            return
        self._referrals.append_audit(
            AuditEntry(
                referral_id=referral.id,
                at=utcnow(),
                action=action,
                actor=f"admin:{operator}",
                detail={
                    "signal": signal.key,
                    "queue": message.queue,
                    "message_id": message.message_id,
                    **detail,
                },
            )
        )

    def _redrive_signals(
        self, name: QueueName, message: QueuedMessage, operator: str, reason: str | None
    ) -> Redriven:
        if name == EXCEPTIONS:
            signal = stored_signal(message)
            if signal is None:
                raise ActionFailed("the message holds no valid signal to redrive; discard it with a reason")
            signals = [signal]
        else:
            images = self._stream.inserted(self._pointers(message), "signal")
            if not images:
                raise ActionFailed("the stream records of this batch hold no signal inserts; discard it")
            signals = [parse(Signal, image) for image in images]
        stored: list[str] = []
        outcomes: list[str] = []
        extra = {"reason": reason} if reason else {}
        for signal in signals:
            if self._announce_if_unannounced(signal):
                self.audit(
                    signal, "admin.signal_redriven", message, operator, {"announced_again": True, **extra}
                )
                outcomes.append(
                    f"{signal.key} had qualified its referral unannounced: referral.qualified sent"
                )
                continue
            new, _ = redriven(signal, int(time.time() * 1000))
            self._inbox.accept(new)  # False: this very redrive is stored already
            self.audit(signal, "admin.signal_redriven", message, operator, {"redriven_as": new.key, **extra})
            stored.append(new.key)
        if stored:
            outcomes.insert(0, f"stored again as {', '.join(stored)}")
        return Redriven("; ".join(outcomes), signals=stored)

    def _announce_again(self, message: QueuedMessage) -> Redriven:
        """announce_referrals' work for the referral INSERTs (and MODIFYs into and out of review) a
        stream OnFailure record points at."""
        pointers = self._pointers(message)
        changes: list[tuple[dict[str, Any], dict[str, Any]]] = [
            ({}, image) for image in self._stream.inserted(pointers, "referral")
        ]
        changes += self._stream.modified(pointers, "referral")
        if not changes:
            raise ActionFailed("the stream records of this batch hold no referral inserts; discard it")
        announced: list[str] = []
        invalid: list[str] = []
        created: list[str] = []
        published: list[str] = []
        for old, new in changes:
            try:
                referral = parse(Referral, new)
            except Invalid:  # announce_referrals skips it too: there is no payload to build from it
                invalid.append(str(new.get("pk") or new.get("id") or "?"))
                continue
            if not old:
                self._announcer.announce(referral)
                created.append(referral.id)
            review = self._reviews.announce_change(old, new)
            if review is not None:
                published.append(f"{review.detail_type} published again for {referral.id}")
            announced.append(referral.id)
        if not announced:
            raise ActionFailed(
                f"the referral inserts of this batch are not valid referrals ({', '.join(invalid)});"
                " there is nothing to announce: discard it"
            )
        if created:
            published.insert(0, f"referral.created published again for {', '.join(created)}")
        detail = f"{'; '.join(published) or 'nothing published again'} on the bus {self._bus_name}"
        if invalid:
            detail += f"; not announced (not a valid referral): {', '.join(invalid)}"
        return Redriven(detail, referrals=announced)

    @staticmethod
    def _pointers(message: QueuedMessage) -> dict[str, Any]:
        return _dict(_dict(message.json_body()).get(STREAM_POINTERS))

    def _announce_if_unannounced(self, signal: Signal) -> bool:
        """A signal that qualified its referral before qualify failed to publish `referral.qualified`.

        Stored again under a new event id it would be a mere duplicate and the referral would stay
        `qualified` for good; the qualification service re-announces it for its own signal instead.
        """
        referral = self._matcher.find(signal)
        if referral is None or referral.status is not ReferralStatus.QUALIFIED:
            return False
        if referral.qualified_by != signal.key:
            return False
        return self._qualification.process(signal) is Outcome.REPUBLISHED
