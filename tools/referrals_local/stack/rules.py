"""EventBridge rules whose targets are our functions, and schedules.

moto evaluates the rule's pattern on put_events but cannot invoke a Lambda target, so each rule gets
a hidden SQS target queue; the runner drains it, completes the envelope as EventBridge delivers it,
and invokes the function asynchronously. Delivery failures (the function cannot take the event)
follow the rule target's RetryPolicy and then its DeadLetterConfig. A message leaves the hidden
queue once its asynchronous invocation is finished with: the queue is what keeps Lambda's internal
event queue across a restart (ADR 0013).
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from referrals_local.stack.async_invoke import AsyncInvoker
from referrals_local.stack.destinations import send_to_arn
from referrals_local.stack.model import ACCOUNT, REGION, EventSpec, FunctionSpec, Resolver
from referrals_local.stack.resources import create_queue

_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
# Longer than an event's invocation with its retries takes, so it is not delivered twice meanwhile.
_IN_FLIGHT_SECONDS = 900


class RuleTarget:
    def __init__(
        self,
        function: FunctionSpec,
        event: EventSpec,
        resolver: Resolver,
        clients: Callable[[str], Any],
        invoker: AsyncInvoker,
    ) -> None:
        properties = event.properties
        self.name = f"{function.logical_id}{event.name}"
        self.bus = resolver.resolve(properties.get("EventBusName", "default"))
        self.pattern = resolver.resolve(properties["Pattern"])
        self.arn = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{self.bus}/{self.name}"
        retry = properties.get("RetryPolicy", {})
        self.max_retries = int(retry.get("MaximumRetryAttempts", 185))
        self.max_age = int(retry.get("MaximumEventAgeInSeconds", 86400))
        dead_letter = properties.get("DeadLetterConfig", {}).get("Arn")
        self.dead_letter_arn: str | None = resolver.resolve(dead_letter) if dead_letter else None
        self._clients = clients
        self._invoker = invoker
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"rule-{self.name}")
        sqs = clients("sqs")
        self._queue_url = create_queue(
            sqs, f"local-rule-target-{self.name}", {"VisibilityTimeout": str(_IN_FLIGHT_SECONDS)}
        )
        queue_arn = sqs.get_queue_attributes(QueueUrl=self._queue_url, AttributeNames=["QueueArn"])
        events = clients("events")
        events.put_rule(Name=self.name, EventBusName=self.bus, EventPattern=json.dumps(self.pattern))
        events.put_targets(
            Rule=self.name,
            EventBusName=self.bus,
            Targets=[{"Id": "function", "Arn": queue_arn["Attributes"]["QueueArn"]}],
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        sqs = self._clients("sqs")
        while not self._stop.is_set():
            try:
                messages = sqs.receive_message(
                    QueueUrl=self._queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
                ).get("Messages", [])
            except Exception:  # the endpoint going away at shutdown
                self._stop.wait(1)
                continue
            for message in messages:
                try:
                    self._deliver(envelope(json.loads(message["Body"])), message["ReceiptHandle"])
                except (
                    Exception
                ) as error:  # left in the target queue: it comes back after its visibility timeout
                    print(f"rule {self.name}: delivery failed, will retry: {error!r}", flush=True)

    def _finished(self, receipt_handle: str) -> None:
        self._clients("sqs").delete_message(QueueUrl=self._queue_url, ReceiptHandle=receipt_handle)

    def _deliver(self, event: dict[str, Any], receipt_handle: str) -> None:
        payload = json.dumps(event).encode()
        started = time.time()
        for attempt in range(self.max_retries + 1):
            try:
                self._invoker.submit(
                    payload,
                    f"eventbridge {event.get('detail-type')}",
                    done=lambda: self._finished(receipt_handle),
                )
                return
            except RuntimeError:  # the function is stopped: EventBridge would retry, then dead-letter
                if self._stop.wait(min(2**attempt, 30)):
                    return  # the runner is stopping: the event stays queued for its next start
                if time.time() - started > self.max_age:
                    break
        if self.dead_letter_arn:
            send_to_arn(self._clients, self.dead_letter_arn, event)
        self._finished(receipt_handle)


def envelope(event: dict[str, Any]) -> dict[str, Any]:
    """The event as EventBridge hands it to a target: every envelope field, `time` in ISO 8601."""
    return {
        "version": event.get("version", "0"),
        "id": event.get("id") or str(uuid.uuid4()),
        "detail-type": event["detail-type"],
        "source": event["source"],
        "account": event.get("account") or ACCOUNT,
        "time": event.get("time") or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": event.get("region") or REGION,
        "resources": event.get("resources", []),
        "detail": event.get("detail", {}),
    }


class Schedule:
    """`Schedule`/`ScheduleV2` events with a rate expression, delivered as Scheduled Events.

    `at_most` (seconds, when > 0) caps the period, so a run does not wait the template's minute: the
    hold period's schedule in a test or a demo (`referrals run --schedule-every`).
    """

    def __init__(
        self, function: FunctionSpec, event: EventSpec, invoker: AsyncInvoker, *, at_most: float = 0.0
    ) -> None:
        expression = event.properties.get("Schedule") or event.properties.get("ScheduleExpression", "")
        match = _RATE.match(expression)
        if not match:
            raise ValueError(f"{function.logical_id}.{event.name}: only rate(...) schedules run locally")
        period = float(int(match.group(1)) * _UNIT_SECONDS[match.group(2).rstrip("s")])
        self.period = min(period, at_most) if at_most > 0 else period
        self.rule_arn = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{function.logical_id}{event.name}"
        self._invoker = invoker
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"schedule-{event.name}")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.period):
            event = envelope(
                {"detail-type": "Scheduled Event", "source": "aws.events", "resources": [self.rule_arn]}
            )
            self._invoker.submit(json.dumps(event).encode(), "schedule")
