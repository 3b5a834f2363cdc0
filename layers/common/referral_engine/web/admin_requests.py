"""What the admin routes read from a request: their path parameters and bodies, as records (the admin
function loads no pydantic, docs/adr/0011); the query of its lists is web/paging.py's `Paging`."""

from __future__ import annotations

from typing import Annotated

import msgspec

from referral_engine.domain.records import Record
from referral_engine.domain.stripped_text import strip, text_schema
from referral_engine.services.admin_messages import QueueName

REASON_MAX = 1000
_QUEUE = msgspec.Meta(title="Queue", description="The queue: a failure queue or `exceptions`.")
_MESSAGE_ID = msgspec.Meta(
    min_length=1, max_length=128, title="Message Id", description="The message's SQS MessageId."
)


class QueuePath(Record):
    queue: Annotated[QueueName, _QUEUE]


class MessagePath(Record):
    queue: Annotated[QueueName, _QUEUE]
    message_id: Annotated[str, _MESSAGE_ID]


class KeyPath(Record):
    key_id: Annotated[
        str,
        msgspec.Meta(min_length=1, max_length=64, title="Key Id", description="The key's id (`key_...`)."),
    ]


class RedriveRequest(Record, forbid_unknown_fields=True):
    reason: Annotated[
        Annotated[str, text_schema(1, REASON_MAX)] | None,
        msgspec.Meta(title="Reason", description="Why (kept in the admin log)."),
    ] = None

    def __post_init__(self) -> None:
        strip(self, "reason", 1, REASON_MAX)


class DiscardRequest(Record, forbid_unknown_fields=True):
    reason: Annotated[
        str,
        text_schema(
            1, REASON_MAX, title="Reason", description="Why the message is discarded (kept in the admin log)."
        ),
    ]

    def __post_init__(self) -> None:
        strip(self, "reason", 1, REASON_MAX)
