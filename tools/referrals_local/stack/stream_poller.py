"""A DynamoDB event source mapping as Lambda runs one: filter, batch, invoke, and on failure honour
ReportBatchItemFailures, BisectBatchOnFunctionError, MaximumRetryAttempts, MaximumRecordAgeInSeconds
and the OnFailure destination (which receives pointers to the records, not the records)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from referrals_local.stack.checkpoints import StreamCheckpoints
from referrals_local.stack.destinations import iso_time, send_to_arn
from referrals_local.stack.filters import filter_patterns, passes
from referrals_local.stack.model import EventSpec, FunctionSpec, Resolver
from referrals_local.stack.runtime import InvokeResult
from referrals_local.stack.stream_reader import StreamReader

Invoker = Callable[[FunctionSpec, bytes, str], InvokeResult]
Record = dict[str, Any]


class BatchRetrier:
    """What happens to one batch: invoke, then retry, bisect or give up as the mapping says."""

    def __init__(
        self,
        function: FunctionSpec,
        properties: dict[str, Any],
        stream_arn: str,
        on_failure_arn: str | None,
        send: Callable[[str, dict[str, Any]], None],
        invoke: Invoker,
        *,
        retry_delay: float,
        stop: threading.Event,
    ) -> None:
        self.function = function
        self.stream_arn = stream_arn
        self.bisect = bool(properties.get("BisectBatchOnFunctionError", False))
        self.max_retries = int(properties.get("MaximumRetryAttempts", -1))  # -1: until the record expires
        self.max_age = int(properties.get("MaximumRecordAgeInSeconds", -1))
        self.partial = "ReportBatchItemFailures" in properties.get("FunctionResponseTypes", [])
        self.on_failure_arn = on_failure_arn
        self._send = send
        self._invoke = invoke
        self._retry_delay = retry_delay
        self._stop = stop

    def process(self, records: list[Record], *, shard_id: str, retries_used: int = 0) -> None:
        """Invoke until the batch succeeds, bisecting and retrying as configured."""
        attempts = retries_used
        while records and not self._stop.is_set():
            records = self._drop_expired(records, shard_id)
            if not records:
                return
            payload = json.dumps({"Records": records}).encode()
            result = self._invoke(self.function, payload, f"stream batch={len(records)}")
            failed_from = self._first_failure(result, records)
            if failed_from is None:
                return
            if not result.ok and self.bisect and len(records) > 1:
                middle = len(records) // 2
                self.process(records[:middle], shard_id=shard_id, retries_used=attempts + 1)
                self.process(records[middle:], shard_id=shard_id, retries_used=attempts + 1)
                return
            records = records[failed_from:]  # what succeeded before the first failure is checkpointed
            attempts += 1
            if 0 <= self.max_retries < attempts:
                self._send_on_failure(records, shard_id, "RetryAttemptsExhausted", attempts, result)
                return
            self._stop.wait(min(self._retry_delay * 2 ** (attempts - 1), 5))

    def _first_failure(self, result: InvokeResult, records: list[Record]) -> int | None:
        """Index of the first record to retry, or None when the whole batch succeeded."""
        if not result.ok:
            return 0
        if not self.partial:
            return None
        response = result.json()
        failures = response.get("batchItemFailures") if isinstance(response, dict) else None
        if not failures:
            return None
        sequence_numbers = [r["dynamodb"]["SequenceNumber"] for r in records]
        try:
            return min(sequence_numbers.index(f["itemIdentifier"]) for f in failures)
        except (KeyError, TypeError, ValueError):
            return 0  # a malformed response fails the whole batch, as Lambda does

    def _drop_expired(self, records: list[Record], shard_id: str) -> list[Record]:
        if self.max_age < 0:
            return records
        oldest_allowed = time.time() - self.max_age
        expired = [r for r in records if r["dynamodb"]["ApproximateCreationDateTime"] < oldest_allowed]
        if expired:
            self._send_on_failure(expired, shard_id, "RecordAgeExceeded", 0, None)
        return [r for r in records if r not in expired]

    def _send_on_failure(
        self, records: list[Record], shard_id: str, condition: str, attempts: int, result: InvokeResult | None
    ) -> None:
        print(
            f"{self.function.short_name}: {len(records)} stream record(s) to OnFailure ({condition})",
            flush=True,
        )
        if not self.on_failure_arn:
            return
        arrivals = [float(r["dynamodb"]["ApproximateCreationDateTime"]) for r in records]
        message = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": self.function.arn,
                "condition": condition,
                "approximateInvokeCount": attempts + 1,
            },
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled" if result is not None and not result.ok else "",
            },
            "version": "1.0",
            "timestamp": iso_time(time.time()),
            "DDBStreamBatchInfo": {
                "shardId": shard_id,
                "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
                "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
                "approximateArrivalOfFirstRecord": iso_time(min(arrivals)),
                "approximateArrivalOfLastRecord": iso_time(max(arrivals)),
                "batchSize": len(records),
                "streamArn": self.stream_arn,
            },
        }
        self._send(self.on_failure_arn, message)


class StreamPoller:
    """Reads the stream, filters, and hands batches of up to BatchSize records to a BatchRetrier.
    Where it got to is checkpointed after each batch, and resumed from on the next start."""

    def __init__(
        self,
        function: FunctionSpec,
        event: EventSpec,
        resolver: Resolver,
        clients: Callable[[str], Any],
        invoke: Invoker,
        *,
        retry_delay: float = 0.2,
        poll_interval: float = 0.1,
    ) -> None:
        properties = event.properties
        stream_arn: str = resolver.resolve(properties["Stream"])
        on_failure = properties.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        self.batch_size = int(properties.get("BatchSize", 100))
        self.window = float(properties.get("MaximumBatchingWindowInSeconds", 0))
        self.patterns = filter_patterns(properties)
        self._stop = threading.Event()
        self.batches = BatchRetrier(
            function,
            properties,
            stream_arn,
            resolver.resolve(on_failure) if on_failure else None,
            lambda arn, message: send_to_arn(clients, arn, message),
            invoke,
            retry_delay=retry_delay,
            stop=self._stop,
        )
        self._mapping = f"{function.logical_id}.{event.name}"
        self._checkpoints = StreamCheckpoints(clients("dynamodb"))
        self._checkpointed = self._checkpoints.load(self._mapping)
        self._reader = StreamReader(
            clients("dynamodbstreams"),
            stream_arn,
            starting_position=properties.get("StartingPosition", "LATEST"),
            after=self._checkpointed,
        )
        self._poll_interval = poll_interval
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"{function.short_name}-stream")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        buffered: list[tuple[str, Record]] = []
        first_seen = 0.0
        while not self._stop.is_set():
            try:
                fresh = [(shard, r) for shard, r in self._reader.read() if passes(self.patterns, r)]
            except Exception as error:  # the endpoint going away at shutdown, mostly
                if not self._stop.wait(1):
                    print(f"stream poller: {error}", flush=True)
                continue
            if fresh and not buffered:
                first_seen = time.monotonic()
            buffered.extend(fresh)
            if not buffered:  # all read so far is handled, or filtered out
                self._checkpoint(self._reader.positions)
            window_open = time.monotonic() - first_seen < self.window
            if not buffered or (len(buffered) < self.batch_size and window_open):
                self._stop.wait(self._poll_interval)
                continue
            batch = buffered[: self.batch_size]
            try:
                self.batches.process([r for _, r in batch], shard_id=batch[0][0])
            except Exception as error:  # a destination or the endpoint failing: keep the batch, try again
                print(f"stream poller: batch kept for a retry: {error!r}", flush=True)
                self._stop.wait(1)
                continue
            if self._stop.is_set():  # the batch may be unfinished: the next start reads it again
                return
            buffered = buffered[self.batch_size :]
            handled = dict(self._checkpointed)
            handled.update((shard, r["dynamodb"]["SequenceNumber"]) for shard, r in batch)
            self._checkpoint(handled if buffered else self._reader.positions)

    def _checkpoint(self, positions: dict[str, str]) -> None:
        if positions == self._checkpointed:
            return
        try:
            self._checkpoints.save(self._mapping, positions)
        except Exception as error:  # the endpoint going away at shutdown: the batch is read again
            print(f"stream poller: checkpoint not saved: {error!r}", flush=True)
            return
        self._checkpointed = positions
