"""In-memory fakes of the admin ports (queues, stream records, republishing, the admin log)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from referral_engine.domain.events import ReferralCreated, ReviewEvent
from referral_engine.ports import (
    AdminAction,
    AdminLogPage,
    MessageNotFound,
    QueueDepth,
    QueuedMessage,
    StreamRecordsGone,
)

_ids = itertools.count(1)


@dataclass
class InMemoryQueue:
    name: str
    visible: list[QueuedMessage] = field(default_factory=list)
    hidden: list[QueuedMessage] = field(default_factory=list)
    deleted: list[QueuedMessage] = field(default_factory=list)

    def send(self, body: str, **attributes: str) -> str:
        message_id = f"msg-{next(_ids)}"
        self.visible.append(
            QueuedMessage(self.name, message_id, body, f"rh-{message_id}", attributes=attributes)
        )
        return message_id

    def depth(self) -> QueueDepth:
        return QueueDepth(len(self.visible), len(self.hidden))

    def peek(self) -> list[QueuedMessage]:
        return list(self.visible)

    def take(self, message_id: str) -> QueuedMessage:
        for message in self.visible:
            if message.message_id == message_id:
                self.visible.remove(message)
                self.hidden.append(message)
                return message
        raise MessageNotFound(f"no message {message_id} in the {self.name} queue")

    def take_all(self) -> list[QueuedMessage]:
        taken, self.visible = self.visible, []
        self.hidden.extend(taken)
        return taken

    def release(self, messages: list[QueuedMessage]) -> None:
        for message in messages:
            self.hidden.remove(message)
            self.visible.append(message)

    def delete(self, message: QueuedMessage) -> None:
        self.hidden.remove(message)
        self.deleted.append(message)


@dataclass
class InMemoryStream:
    """The stream's inserted items by sequence number; `gone` makes every read fail as after 24 hours."""

    items: dict[int, dict[str, Any]] = field(default_factory=dict)
    modifications: dict[int, tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=dict)
    gone: bool = False

    def inserted(self, pointers: dict[str, Any], entity: str) -> list[dict[str, Any]]:
        if self.gone:
            raise StreamRecordsGone("the stream records can no longer be read")
        start, end = int(pointers["startSequenceNumber"]), int(pointers["endSequenceNumber"])
        return [
            item
            for number, item in sorted(self.items.items())
            if start <= number <= end and item["entity"] == entity
        ]

    def modified(self, pointers: dict[str, Any], entity: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        start, end = int(pointers["startSequenceNumber"]), int(pointers["endSequenceNumber"])
        return [
            (old, new)
            for number, (old, new) in sorted(self.modifications.items())
            if start <= number <= end and new["entity"] == entity
        ]


@dataclass
class InMemoryRepublisher:
    events: list[dict[str, Any]] = field(default_factory=list)
    refuse: bool = False

    def republish(self, event: dict[str, Any]) -> None:
        if self.refuse:
            raise RuntimeError("EventBridge refused the event: ['InternalFailure']")
        self.events.append(event)


@dataclass
class InMemoryCreatedPublisher:
    created: list[ReferralCreated] = field(default_factory=list)

    reviews: list[ReviewEvent] = field(default_factory=list)

    def publish_created(self, event: ReferralCreated) -> None:
        self.created.append(event)

    def publish_review(self, event: ReviewEvent) -> None:
        self.reviews.append(event)


@dataclass
class InMemoryAdminLog:
    actions: list[AdminAction] = field(default_factory=list)

    def record(self, action: AdminAction) -> dict[str, str]:
        self.actions.append(action)
        return {"pk": f"ADMINLOG#{action.at:%Y-%m-%d}", "sk": f"{action.at.isoformat()}#{action.message_id}"}

    def page(self, *, limit: int, cursor: str | None) -> AdminLogPage:
        if cursor is not None and not cursor.isdigit():
            raise ValueError("not our cursor")
        newest = [vars(action) for action in reversed(self.actions)]
        start = int(cursor or 0)
        following = start + limit
        return AdminLogPage(newest[start:following], str(following) if following < len(newest) else None)


if TYPE_CHECKING:  # mypy checks that each fake satisfies its port
    from referral_engine import ports

    _queue: ports.MessageQueue = InMemoryQueue("q")
    _stream: ports.StreamRecords = InMemoryStream()
    _republisher: ports.EventRepublisher = InMemoryRepublisher()
    _log: ports.AdminLog = InMemoryAdminLog()
