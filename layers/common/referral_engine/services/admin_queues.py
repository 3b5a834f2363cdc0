"""The admin's use cases on the failure queues and the exceptions queue: depths, listing, redrive and
discard (what a redrive does per queue: services/admin_redrive.py).

Listing consumes nothing. Acting on a message (redrive, discard) takes it out of sight while the action
runs and deletes it only after the action succeeded; a failed action makes it visible again. Every
redrive and discard leaves an `admin_action` entry in the admin log (who, when, why, the message
body), and the referral an exceptions-queue signal names gets an audit entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from referral_engine.domain.errors import InvalidRequest
from referral_engine.domain.models import utcnow
from referral_engine.ports import (
    AdminAction,
    AdminLog,
    AdminLogPage,
    MessageNotFound,
    MessageQueue,
    QueueDepth,
    QueuedMessage,
)
from referral_engine.services.admin_messages import EXCEPTIONS, Described, QueueName, describe
from referral_engine.services.admin_redrive import Redriver, stored_signal


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


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


class AdminQueueService:
    def __init__(self, queues: Mapping[QueueName, MessageQueue], redriver: Redriver, log: AdminLog) -> None:
        self._queues = queues
        self._redriver = redriver
        self._log = log

    def queue(self, name: QueueName) -> MessageQueue:
        return self._queues[name]

    def depths(self) -> dict[QueueName, QueueDepth]:
        return {name: queue.depth() for name, queue in self._queues.items()}

    def inspect(self, names: tuple[QueueName, ...]) -> list[Listed]:
        """Every message of these queues, oldest first per queue; nothing leaves a queue."""
        return [
            Listed(message, describe(name, message)) for name in names for message in self.queue(name).peek()
        ]

    def show(self, name: QueueName, message_id: str) -> Listed:
        for listed in self.inspect((name,)):
            if listed.message.message_id == message_id:
                return listed
        raise MessageNotFound(f"no message {message_id} in the {name} queue")

    def redrive(
        self, name: QueueName, message_id: str | None, *, operator: str, reason: str | None = None
    ) -> list[ActionResult]:
        """One message by id, or all of them (`message_id` None). A message whose redrive fails stays in
        the queue and is reported; the others go on."""
        queue = self.queue(name)
        messages = [queue.take(message_id)] if message_id else queue.take_all()
        results = []
        for message in messages:
            try:
                done = self._redriver.redrive(name, message, operator=operator, reason=reason)
            except Exception as error:  # reported per message, which stays in the queue
                queue.release([message])
                results.append(ActionResult(name, message.message_id, ok=False, detail=_one_line(error)))
                continue
            detail = {
                "outcome": done.detail,
                "signals": done.signals or None,
                "referrals": done.referrals or None,
            }
            log = self._record("redrive", name, message, operator, reason, detail)
            queue.delete(message)
            results.append(
                ActionResult(name, message.message_id, True, done.detail, log, done.signals, done.referrals)
            )
        return results

    def discard(self, name: QueueName, message_id: str, *, operator: str, reason: str) -> ActionResult:
        if not reason.strip():
            raise InvalidRequest("a discard needs a reason")
        queue = self.queue(name)
        message = queue.take(message_id)
        try:
            signal = stored_signal(message) if name == EXCEPTIONS else None
            if signal is not None:
                self._redriver.audit(signal, "admin.signal_discarded", message, operator, {"reason": reason})
            log = self._record("discard", name, message, operator, reason, {})
        except BaseException:
            queue.release([message])
            raise
        queue.delete(message)
        return ActionResult(name, message.message_id, True, f"recorded in the admin log {log['pk']}", log)

    def admin_log(self, *, limit: int = 50, cursor: str | None = None) -> AdminLogPage:
        try:
            return self._log.page(limit=limit, cursor=cursor)
        except ValueError as error:
            raise InvalidRequest("the cursor is not valid") from error

    def _record(
        self,
        action: Any,
        name: QueueName,
        message: QueuedMessage,
        operator: str,
        reason: str | None,
        detail: dict[str, Any],
    ) -> dict[str, str]:
        return self._log.record(
            AdminAction(
                action=action,
                queue=name,
                message_id=message.message_id,
                body=message.body,
                operator=operator,
                at=utcnow(),
                reason=reason,
                detail=detail,
            )
        )
