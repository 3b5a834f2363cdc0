"""Where Lambda sends what failed (or succeeded): destinations named by ARN. Locally, SQS queues."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any


def iso_time(epoch: float) -> str:
    """Millisecond ISO-8601 UTC, as Lambda's destination records write times."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def send_to_arn(clients: Callable[[str], Any], arn: str, message: dict[str, Any]) -> None:
    service, name = arn.split(":")[2], arn.rsplit(":", maxsplit=1)[-1]
    if service != "sqs":
        raise ValueError(f"destination {arn} is not supported locally (only SQS queues)")
    sqs = clients("sqs")
    sqs.send_message(QueueUrl=sqs.get_queue_url(QueueName=name)["QueueUrl"], MessageBody=json.dumps(message))
