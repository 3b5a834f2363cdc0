"""Asynchronous invocation as Lambda does it: an internal queue, retries on function errors
(EventInvokeConfig.MaximumRetryAttempts, default 2), a maximum event age, then the OnFailure
destination with Lambda's invocation record (request and response payloads)."""

from __future__ import annotations

import json
import queue
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from referrals_local.stack.destinations import iso_time, send_to_arn
from referrals_local.stack.model import FunctionSpec, Resolver
from referrals_local.stack.runtime import InvokeResult

Invoker = Callable[[FunctionSpec, bytes, str], InvokeResult]


class AsyncInvoker:
    def __init__(
        self,
        function: FunctionSpec,
        resolver: Resolver,
        clients: Callable[[str], Any],
        invoke: Invoker,
        *,
        retry_delays: tuple[float, ...] = (1.0, 2.0),
        concurrency: int = 2,
    ) -> None:
        config = function.event_invoke_config
        self.function = function
        self.max_retries = int(config.get("MaximumRetryAttempts", 2))
        self.max_age = int(config.get("MaximumEventAgeInSeconds", 21600))
        destinations = config.get("DestinationConfig", {})
        self.on_failure = self._arn(resolver, destinations.get("OnFailure"))
        self.on_success = self._arn(resolver, destinations.get("OnSuccess"))
        self._clients = clients
        self._invoke = invoke
        self._retry_delays = retry_delays
        self._queue: queue.Queue[tuple[bytes, str, float, Callable[[], None]] | None] = queue.Queue()
        self._stopped = False
        self._threads = [
            threading.Thread(target=self._run, daemon=True, name=f"{function.short_name}-async-{n}")
            for n in range(concurrency)
        ]

    @staticmethod
    def _arn(resolver: Resolver, destination: dict[str, Any] | None) -> str | None:
        return resolver.resolve(destination["Destination"]) if destination else None

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stopped = True
        for _ in self._threads:
            self._queue.put(None)

    def submit(self, payload: bytes, trigger: str, done: Callable[[], None] = lambda: None) -> None:
        """Accepted like Lambda's `Invoke(InvocationType=Event)`: queued, answered at once. `done()`
        runs once the event is finished with (succeeded, or sent to its OnFailure destination): until
        then the caller keeps it, so an event the runner had not finished is delivered again after
        a restart (ADR 0013)."""
        if self._stopped:
            raise RuntimeError(f"{self.function.short_name} does not accept events")
        self._queue.put((payload, trigger, time.time(), done))

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            payload, trigger, received, done = item
            try:
                self._deliver(payload, trigger, received)
                done()
            except Exception as error:  # e.g. the destination queue is gone: say so, keep serving
                print(f"{self.function.short_name}: async event not finished: {error!r}", flush=True)

    def _deliver(self, payload: bytes, trigger: str, received: float) -> None:
        attempt = 0
        while True:
            result = self._invoke(
                self.function, payload, trigger if attempt == 0 else f"{trigger} retry {attempt}"
            )
            if result.ok:
                if self.on_success:
                    self._record(self.on_success, payload, result, "Success", attempt)
                return
            if attempt >= self.max_retries:
                condition = "RetriesExhausted"
                break
            delay = self._retry_delays[min(attempt, len(self._retry_delays) - 1)]
            if time.time() + delay - received > self.max_age:
                condition = "EventAgeExceeded"
                break
            time.sleep(delay)
            attempt += 1
        if self.on_failure:
            self._record(self.on_failure, payload, result, condition, attempt)

    def _record(self, arn: str, payload: bytes, result: InvokeResult, condition: str, attempt: int) -> None:
        record = {
            "version": "1.0",
            "timestamp": iso_time(time.time()),
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": f"{self.function.arn}:$LATEST",
                "condition": condition,
                "approximateInvokeCount": attempt + 1,
            },
            "requestPayload": json.loads(payload),
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                **({} if result.ok else {"functionError": "Unhandled"}),
            },
            "responsePayload": result.json(),
        }
        send_to_arn(self._clients, arn, record)
