"""SQS: the exceptions queue's sink (records that can never succeed, kept with their payload for an
admin), and the admin's view of a queue.

The admin's view looks into a queue without losing messages and takes one out once it has been dealt
with. Listing receives every message with a short visibility timeout and makes each visible again right
after (ChangeMessageVisibility 0), so nothing is consumed. Acting on a message finds it by its
MessageId and keeps it hidden while the action runs; the caller deletes or releases it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from referral_engine.domain.models import utcnow
from referral_engine.ports import MessageNotFound, QueueDepth, QueuedMessage

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


class SqsExceptionSink:
    def __init__(self, client: SQSClient, queue_url: str, *, function: str) -> None:
        self._client = client
        self._queue_url = queue_url
        self._function = function

    def report(self, *, reason: str, message: str, payload: dict[str, Any]) -> None:
        body = {
            "reason": reason,
            "message": message,
            "function": self._function,
            "at": utcnow().isoformat(),
            "payload": payload,
        }
        self._client.send_message(
            QueueUrl=self._queue_url,
            MessageBody=json.dumps(body, default=str),
            MessageAttributes={"reason": {"DataType": "String", "StringValue": reason}},
        )


PEEK_SECONDS = 20  # hidden while a listing collects the rest of the queue
HOLD_SECONDS = 120  # hidden while an action on the message runs
MAX_MESSAGES = 1000  # a listing stops here; a queue that deep needs a script, not a table


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


class SqsQueue:
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

    def depth(self) -> QueueDepth:
        attributes = self._sqs.get_queue_attributes(
            QueueUrl=self.url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return QueueDepth(
            visible=int(attributes.get("ApproximateNumberOfMessages", 0)),
            in_flight=int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
        )
