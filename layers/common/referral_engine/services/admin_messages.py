"""What each failure queue holds, made readable for an admin: why a message is there and what it is about.

- `exceptions`: signals qualify can never process, reported by qualify itself with the payload
  (`{reason, message, function, at, payload: {signal, stream_event_id}}`).
- `qualify-failure`: the stream's OnFailure record after the retries: only shard and sequence
  pointers (`DDBStreamBatchInfo`), no records.
- `reward-events`: the EventBridge rule's dead-letter queue; the body is the original event, the
  reason is in the message attributes (`ERROR_CODE`, `ERROR_MESSAGE`) when EventBridge gave one.
- `issue-reward-failure`: issue_reward's asynchronous OnFailure record, the event in `requestPayload`.
- `hook-events`: the dead-letter queue of deliver_events' EventBridge rule (`referral.created`,
  `.qualified`, `.reversed`); like `reward-events`, the body is the original event.
- `announce-referrals-failure`: announce_referrals' stream OnFailure record (only the shard and
  sequence pointers of referral INSERTs it could not announce as `referral.created`).
- `deliver-events-failure`: deliver_events' asynchronous OnFailure record (an event some target did
  not take, in `requestPayload`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

from referral_engine.ports import QueuedMessage

QueueName = Literal[
    "qualify-failure",
    "reward-events",
    "issue-reward-failure",
    "hook-events",
    "announce-referrals-failure",
    "deliver-events-failure",
    "exceptions",
]
EXCEPTIONS: QueueName = "exceptions"
DLQS: tuple[QueueName, ...] = tuple(name for name in get_args(QueueName) if name != EXCEPTIONS)
RULE_DLQS: tuple[QueueName, ...] = ("reward-events", "hook-events")  # body: the original event
STREAM_POINTERS = "DDBStreamBatchInfo"  # a stream OnFailure record's pointers


@dataclass(frozen=True)
class Described:
    reason: str  # why it is in the queue, one line
    subject: str  # what it is about, one line
    payload: Any  # the part an admin acts on: the signal, the event, the stream pointers


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _event_subject(event: dict[str, Any]) -> str:
    detail = _dict(event.get("detail"))
    about = f"referral {detail['referral_id']}" if "referral_id" in detail else "no referral id"
    return f"{event.get('detail-type', 'event')} for {about}"


def _lambda_reason(body: dict[str, Any]) -> str:
    context = _dict(body.get("requestContext"))
    reason = str(context.get("condition") or "failed")
    attempts = context.get("approximateInvokeCount")
    if attempts:
        reason += f" after {attempts} attempt{'s' if attempts != 1 else ''}"
    error = _dict(body.get("responsePayload"))
    if error.get("errorType") or error.get("errorMessage"):
        reason += f": {error.get('errorType', 'Error')}: {error.get('errorMessage', '')}".rstrip(": ")
    elif _dict(body.get("responseContext")).get("functionError"):
        reason += f" ({body['responseContext']['functionError']} error)"
    return reason


def signal_subject(signal: dict[str, Any]) -> str:
    match = ", ".join(f"{name}={value}" for name, value in _dict(signal.get("match")).items() if value)
    return (
        f"signal {signal.get('source')}:{signal.get('event_id')} in {signal.get('campaign_id')}"
        f" matching {match or 'nothing'}"
    )


def describe(queue: QueueName, message: QueuedMessage) -> Described:
    body = message.json_body()
    if not isinstance(body, dict):
        return Described("unreadable message (not a JSON object)", "?", body)
    if queue == "exceptions":
        signal = _dict(_dict(body.get("payload")).get("signal"))
        reason = str(body.get("reason", "unknown"))
        if body.get("message"):
            reason += f": {body['message']}"
        return Described(reason, signal_subject(signal) if signal else "no signal", signal or body)
    if queue in ("qualify-failure", "announce-referrals-failure"):
        batch = _dict(body.get(STREAM_POINTERS))
        count = batch.get("batchSize", "?")
        subject = (
            f"{count} stream record(s) {batch.get('startSequenceNumber')}..{batch.get('endSequenceNumber')}"
            f" on {batch.get('shardId')}"
        )
        if queue == "announce-referrals-failure":
            subject += " (new referrals not announced)"
        return Described(_lambda_reason(body), subject, batch)
    if queue in RULE_DLQS:
        code, text = message.attributes.get("ERROR_CODE"), message.attributes.get("ERROR_MESSAGE")
        reason = ": ".join(part for part in (code, text) if part) or "the rule could not deliver it"
        return Described(reason, _event_subject(body), body.get("detail", body))
    event = _dict(body.get("requestPayload"))
    return Described(_lambda_reason(body), _event_subject(event), event.get("detail", event))


def original_event(queue: QueueName, message: QueuedMessage) -> dict[str, Any]:
    """The EventBridge event a rule dead letter (the body) or an async OnFailure record
    (its `requestPayload`) holds."""
    body = _dict(message.json_body())
    event = _dict(body) if queue in RULE_DLQS else _dict(body.get("requestPayload"))
    if not event.get("detail-type") or "detail" not in event:
        raise ValueError(f"message {message.message_id} holds no EventBridge event")
    return event
