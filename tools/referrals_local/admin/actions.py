"""Listing, redriving and discarding the messages of the failure queues and the exceptions queue.

Redrives may safely repeat: exactly-once is guaranteed downstream by the conditional transitions.

- `exceptions` and `qualify-failure`: the signal is stored again as a NEW signal item (its event id
  gets a `~redrive-{unix ms}` suffix, the item a `redrive_of` attribute), so the table stream hands it
  to qualify again. A qualify-failure message holds only stream pointers: the records are read back
  from the stream first (possible for 24 hours). One exception: a signal that did qualify its
  referral but whose `referral.qualified` event was never published (qualify failed between the
  write and the publish) is re-announced by the qualification service itself, since under a new
  event id it would only be a duplicate.
- `reward-events` and `issue-reward-failure`: the original `referral.qualified` event goes back on
  the bus.
- `hook-events` and `deliver-events-failure`: the original `referral.created`, `.qualified` or
  `.reversed` event goes back on the bus. Every rule matching it runs again; deliver_events' delivery
  log (7 days) skips the targets that took it already, and issue_reward rewards exactly once.
- `announce-referrals-failure` (stream pointers only): the records are read back from the stream
  (24 hours), and each referral INSERT among them is announced as `referral.created` again by the
  layer's ReferralAnnouncer, as announce_referrals does.

A message is deleted only after its action succeeded; every redrive and discard leaves an
`admin_action` item (who, when, why, the message body), and a referral the signal names gets an
audit entry.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError
from pydantic import ValidationError

from referral_engine.adapters.dynamodb import keys
from referral_engine.adapters.dynamodb.codec import to_item
from referral_engine.adapters.dynamodb.signals import DynamoSignalInbox
from referral_engine.adapters.eventbridge import EventBridgePublisher, EventPublishFailed
from referral_engine.domain.errors import DomainError
from referral_engine.domain.models import AuditEntry, Referral, ReferralStatus, Signal, utcnow
from referral_engine.services.qualification import Outcome
from referral_engine.services.subscriptions import ReferralAnnouncer
from referrals_local.admin.engine import Engine
from referrals_local.admin.messages import (
    EXCEPTIONS,
    STREAM_POINTERS,
    Described,
    QueueName,
    describe,
    original_event,
    queue_url,
)
from referrals_local.admin.queues import Queue, QueuedMessage
from referrals_local.admin.stream import StreamRecordsGone, read_batch, referral_images, signal_images
from referrals_local.admin.target import Target

REDRIVE_MARK = "~redrive-"
MAX_EVENT_ID = 200  # Signal.event_id's limit


class ActionFailed(RuntimeError):
    pass


@dataclass(frozen=True)
class Listed:
    message: QueuedMessage
    described: Described


@dataclass(frozen=True)
class ActionResult:
    queue: QueueName
    message_id: str
    ok: bool
    detail: str
    admin_log: dict[str, str] | None = None
    signals: list[str] = field(default_factory=list)  # keys of the signals stored again
    referrals: list[str] = field(default_factory=list)  # ids of the referrals announced again


@dataclass(frozen=True)
class _Redriven:
    detail: str
    signals: list[str] = field(default_factory=list)
    referrals: list[str] = field(default_factory=list)


def redriven(signal: Signal, at_ms: int) -> tuple[Signal, str]:
    """The signal under a new event id, and the original event id (a redrive of a redrive keeps it)."""
    original = signal.event_id.split(REDRIVE_MARK, 1)[0]
    suffix = f"{REDRIVE_MARK}{at_ms}"
    event_id = original[: MAX_EVENT_ID - len(suffix)] + suffix
    return signal.model_copy(update={"event_id": event_id, "redrive_of": original}), original


class Admin:
    def __init__(self, target: Target, engine: Engine | None = None) -> None:
        self.target = target
        self.engine = engine or Engine(target.table)

    def queue(self, name: QueueName) -> Queue:
        return Queue(
            self.target.sqs,
            name,
            queue_url(self.target.outputs, name),
            wait_seconds=0 if self.target.local else 1,
        )

    # ------------------------------------------------------------------------------ listing
    def inspect(self, names: tuple[QueueName, ...]) -> list[Listed]:
        return [
            Listed(message, describe(name, message)) for name in names for message in self.queue(name).peek()
        ]

    # ------------------------------------------------------------------------------ actions
    def redrive(
        self, name: QueueName, message_id: str | None, *, reason: str | None = None
    ) -> list[ActionResult]:
        """One message by id, or all of them (`message_id` None)."""
        queue = self.queue(name)
        messages = [queue.take(message_id)] if message_id else queue.take_all()
        results = []
        for message in messages:
            try:
                done = self._redrive(name, message, reason)
            except (
                ActionFailed,
                StreamRecordsGone,
                ValueError,
                ClientError,
                EventPublishFailed,
                DomainError,
            ) as error:
                queue.release([message])
                results.append(ActionResult(name, message.message_id, ok=False, detail=_one_line(error)))
                continue
            log = self._log(
                "redrive",
                name,
                message,
                reason,
                {
                    "outcome": done.detail,
                    "signals": done.signals or None,
                    "referrals": done.referrals or None,
                },
            )
            queue.delete(message)
            results.append(
                ActionResult(name, message.message_id, True, done.detail, log, done.signals, done.referrals)
            )
        return results

    def discard(self, name: QueueName, message_id: str, *, reason: str) -> ActionResult:
        if not reason.strip():
            raise ActionFailed("a discard needs a reason")
        queue = self.queue(name)
        message = queue.take(message_id)
        try:
            if name == EXCEPTIONS:
                signal = self._stored_signal(message)
                if signal is not None:
                    self._audit(signal, "admin.signal_discarded", message, {"reason": reason})
            log = self._log("discard", name, message, reason, {})
        except BaseException:
            queue.release([message])
            raise
        queue.delete(message)
        return ActionResult(name, message.message_id, True, f"recorded in the admin log {log['pk']}", log)

    # ------------------------------------------------------------------------------ internals
    def _redrive(self, name: QueueName, message: QueuedMessage, reason: str | None) -> _Redriven:
        if name == "announce-referrals-failure":
            return self._announce_again(message)
        if name in ("reward-events", "issue-reward-failure", "hook-events", "deliver-events-failure"):
            event = original_event(name, message)
            self._put_event(event)
            return _Redriven(
                f"{event['detail-type']} put back on the bus {self.target.outputs.event_bus_name}"
            )
        return self._redrive_signals(name, message, reason)

    def _redrive_signals(self, name: QueueName, message: QueuedMessage, reason: str | None) -> _Redriven:
        if name == EXCEPTIONS:
            signal = self._stored_signal(message)
            if signal is None:
                raise ActionFailed("the message holds no valid signal to redrive; discard it with a reason")
            signals = [signal]
        else:
            images = signal_images(self._stream_records(message))
            if not images:
                raise ActionFailed("the stream records of this batch hold no signal inserts; discard it")
            signals = [Signal.model_validate(image) for image in images]
        stored: list[str] = []
        outcomes: list[str] = []
        for signal in signals:
            extra = {"reason": reason} if reason else {}
            if self._announce_if_unannounced(signal):
                self._audit(signal, "admin.signal_redriven", message, {"announced_again": True, **extra})
                outcomes.append(
                    f"{signal.key} had qualified its referral unannounced: referral.qualified sent"
                )
                continue
            new = self._reinsert(signal)
            self._audit(signal, "admin.signal_redriven", message, {"redriven_as": new.key, **extra})
            stored.append(new.key)
        if stored:
            outcomes.insert(0, f"stored again as {', '.join(stored)}")
        return _Redriven("; ".join(outcomes), signals=stored)

    def _announce_again(self, message: QueuedMessage) -> _Redriven:
        """announce_referrals' work for the referral INSERTs a stream OnFailure record points at."""
        images = referral_images(self._stream_records(message))
        if not images:
            raise ActionFailed("the stream records of this batch hold no referral inserts; discard it")
        announcer = ReferralAnnouncer(
            EventBridgePublisher(self.target.events, self.target.outputs.event_bus_name)
        )
        announced: list[str] = []
        invalid: list[str] = []
        for image in images:
            try:
                referral = Referral.model_validate(image)
            except ValidationError:  # announce_referrals skips it too: there is no payload to build from it
                invalid.append(str(image.get("pk") or image.get("id") or "?"))
                continue
            announcer.announce(referral)
            announced.append(referral.id)
        if not announced:
            raise ActionFailed(
                f"the referral inserts of this batch are not valid referrals ({', '.join(invalid)});"
                " there is nothing to announce: discard it"
            )
        detail = (
            f"referral.created published again for {', '.join(announced)}"
            f" on the bus {self.target.outputs.event_bus_name}"
        )
        if invalid:
            detail += f"; not announced (not a valid referral): {', '.join(invalid)}"
        return _Redriven(detail, referrals=announced)

    def _stream_records(self, message: QueuedMessage) -> list[dict[str, Any]]:
        return read_batch(self.target.streams, _dict(_dict(message.json_body()).get(STREAM_POINTERS)))

    def _announce_if_unannounced(self, signal: Signal) -> bool:
        """A signal that qualified its referral before qualify failed to publish `referral.qualified`.

        Stored again under a new event id it would be a mere duplicate and the referral would stay
        `qualified` for good; the qualification service re-announces it for its own signal instead.
        """
        referral = self.engine.referral_of(signal)
        if referral is None or referral.status is not ReferralStatus.QUALIFIED:
            return False
        if referral.qualified_by != signal.key:
            return False
        publisher = EventBridgePublisher(self.target.events, self.target.outputs.event_bus_name)
        outcome = self.engine.qualification(publisher).process(signal)
        return outcome is Outcome.REPUBLISHED

    def _stored_signal(self, message: QueuedMessage) -> Signal | None:
        image = _dict(_dict(_dict(message.json_body()).get("payload")).get("signal"))
        try:
            return Signal.model_validate(image) if image else None
        except ValidationError:
            return None

    def _reinsert(self, signal: Signal) -> Signal:
        new, _ = redriven(signal, int(time.time() * 1000))
        DynamoSignalInbox(self.target.table).accept(new)  # False: this very redrive is stored already
        return new

    def _put_event(self, event: dict[str, Any]) -> None:
        response = self.target.events.put_events(
            Entries=[
                {
                    "EventBusName": self.target.outputs.event_bus_name,
                    "Source": str(event.get("source", "")),
                    "DetailType": str(event["detail-type"]),
                    "Detail": json.dumps(event["detail"]),
                }
            ]
        )
        if response.get("FailedEntryCount", 0):
            codes = [entry.get("ErrorCode") for entry in response["Entries"] if entry.get("ErrorCode")]
            raise ActionFailed(f"EventBridge refused the event: {codes}")

    def _audit(self, signal: Signal, action: str, message: QueuedMessage, detail: dict[str, Any]) -> None:
        referral = self.engine.referral_of(signal)
        if referral is None:
            return
        self.engine.referral_store.append_audit(
            AuditEntry(
                referral_id=referral.id,
                at=utcnow(),
                action=action,
                actor=f"admin:{self.target.operator}",
                detail={
                    "signal": signal.key,
                    "queue": message.queue,
                    "message_id": message.message_id,
                    **detail,
                },
            )
        )

    def _log(
        self, action: str, name: QueueName, message: QueuedMessage, reason: str | None, detail: dict[str, Any]
    ) -> dict[str, str]:
        at = utcnow()
        key = keys.admin_log(at, message.message_id)
        self.target.table.put(
            to_item(
                {
                    **key,
                    "entity": "admin_action",
                    "action": action,
                    "queue": name,
                    "message_id": message.message_id,
                    "reason": reason,
                    "body": message.body,
                    "operator": self.target.operator,
                    "at": at,
                    **detail,
                }
            )
        )
        return key


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
