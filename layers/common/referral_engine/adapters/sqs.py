"""The exceptions queue: records that can never succeed, kept with their payload for an admin."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from referral_engine.domain.models import utcnow

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
