"""Looking into SQS queues without losing messages, and taking one out once it has been dealt with.

Listing receives every message with a short visibility timeout and makes each visible again right
after (ChangeMessageVisibility 0), so nothing is consumed. Acting on a message (redrive, discard)
finds it by its MessageId, keeps it hidden while the action runs, and deletes it only after the action
succeeded; a failed action makes it visible again.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

PEEK_SECONDS = 20  # hidden while a listing collects the rest of the queue
HOLD_SECONDS = 120  # hidden while an action on the message runs
MAX_MESSAGES = 1000  # a listing stops here; a queue that deep needs a script, not a table


class MessageNotFound(LookupError):
    pass


@dataclass(frozen=True)
class QueuedMessage:
    queue: str
    message_id: str
    body: str
    receipt_handle: str = field(repr=False)
    sent_at: datetime | None = None
    receive_count: int = 0
    attributes: dict[str, str] = field(default_factory=dict)  # the message attributes (string values)

    def json_body(self) -> Any:
        """The body parsed as JSON, or the raw text when it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return self.body

    def age_seconds(self, now: datetime | None = None) -> float | None:
        if self.sent_at is None:
            return None
        return max(0.0, ((now or datetime.now(UTC)) - self.sent_at).total_seconds())


def _message(queue: str, raw: dict[str, Any]) -> QueuedMessage:
    system = raw.get("Attributes", {})
    sent = system.get("SentTimestamp")
    attributes = {
        name: str(value.get("StringValue", ""))
        for name, value in raw.get("MessageAttributes", {}).items()
        if "StringValue" in value
    }
    return QueuedMessage(
        queue=queue,
        message_id=raw["MessageId"],
        body=raw.get("Body", ""),
        receipt_handle=raw["ReceiptHandle"],
        sent_at=datetime.fromtimestamp(int(sent) / 1000, UTC) if sent else None,
        receive_count=int(system.get("ApproximateReceiveCount", 0)),
        attributes=attributes,
    )


class Queue:
    def __init__(self, sqs: SQSClient, name: str, url: str, *, wait_seconds: int = 0) -> None:
        """`wait_seconds` > 0 long-polls, which on AWS asks every server (short polls sample some)."""
        self._sqs = sqs
        self.name = name
        self.url = url
        self._wait = wait_seconds

    def _receive(self, visibility: int) -> Iterator[list[QueuedMessage]]:
        """Batches of the messages currently visible, each message hidden for `visibility` seconds once
        received. Every message of every batch yielded is the caller's to release or delete."""
        seen: set[str] = set()
        while len(seen) < MAX_MESSAGES:
            batch = self._sqs.receive_message(
                QueueUrl=self.url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=visibility,
                WaitTimeSeconds=self._wait,
                MessageAttributeNames=["All"],
                MessageSystemAttributeNames=["All"],
            ).get("Messages", [])
            fresh = [_message(self.name, dict(raw)) for raw in batch if raw["MessageId"] not in seen]
            if not fresh:
                return
            seen.update(message.message_id for message in fresh)
            yield fresh

    def release(self, messages: list[QueuedMessage]) -> None:
        """Makes received messages visible again at once."""
        for start in range(0, len(messages), 10):
            chunk = messages[start : start + 10]
            self._sqs.change_message_visibility_batch(
                QueueUrl=self.url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m.receipt_handle, "VisibilityTimeout": 0}
                    for i, m in enumerate(chunk)
                ],
            )

    def peek(self) -> list[QueuedMessage]:
        """Every message in the queue, oldest first; all of them stay in the queue."""
        messages = [message for batch in self._receive(PEEK_SECONDS) for message in batch]
        self.release(messages)
        return sorted(messages, key=lambda m: (m.sent_at or datetime.min.replace(tzinfo=UTC), m.message_id))

    def take(self, message_id: str) -> QueuedMessage:
        """The message with this id, hidden for HOLD_SECONDS; every other message is released."""
        found: QueuedMessage | None = None
        others: list[QueuedMessage] = []
        for batch in self._receive(HOLD_SECONDS):
            for message in batch:
                if message.message_id == message_id:
                    found = message
                else:
                    others.append(message)
            if found is not None:
                break
        self.release(others)
        if found is None:
            raise MessageNotFound(f"no message {message_id} in the {self.name} queue")
        return found

    def take_all(self) -> list[QueuedMessage]:
        """Every message, each hidden for HOLD_SECONDS."""
        return [message for batch in self._receive(HOLD_SECONDS) for message in batch]

    def delete(self, message: QueuedMessage) -> None:
        self._sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message.receipt_handle)
