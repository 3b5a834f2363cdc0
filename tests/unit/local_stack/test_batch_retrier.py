"""The local event source mapping's retry semantics, against a scripted function."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from referrals_local.stack.model import FunctionSpec
from referrals_local.stack.runtime import InvokeResult
from referrals_local.stack.stream_poller import BatchRetrier
from support.function_specs import QUALIFY

FUNCTION = QUALIFY
PROPERTIES = {
    "BisectBatchOnFunctionError": True,
    "MaximumRetryAttempts": 2,
    "MaximumRecordAgeInSeconds": 3600,
    "FunctionResponseTypes": ["ReportBatchItemFailures"],
}


def record(n: int, age: float = 0) -> dict[str, Any]:
    return {
        "eventID": str(n),
        "dynamodb": {"SequenceNumber": f"{n:04d}", "ApproximateCreationDateTime": time.time() - age},
    }


class ScriptedFunction:
    """Fails the records whose numbers are in `failing` (partial failure) or raises when `crash` is set."""

    def __init__(self, failing: set[int] = frozenset(), crash_on: set[int] = frozenset()) -> None:  # type: ignore[assignment]
        self.failing, self.crash_on = set(failing), set(crash_on)
        self.batches: list[list[int]] = []

    def __call__(self, function: FunctionSpec, payload: bytes, trigger: str) -> InvokeResult:
        numbers = [int(r["eventID"]) for r in json.loads(payload)["Records"]]
        self.batches.append(numbers)
        if self.crash_on & set(numbers):
            return InvokeResult(False, b'{"errorMessage": "boom", "errorType": "RuntimeError"}', 1.0, False)
        failures = [{"itemIdentifier": f"{n:04d}"} for n in numbers if n in self.failing]
        return InvokeResult(True, json.dumps({"batchItemFailures": failures}).encode(), 1.0, False)


class Sent(list[dict[str, Any]]):
    """What reached the OnFailure destination."""


def retrier(function: ScriptedFunction, sent: list[dict[str, Any]], **overrides: Any) -> BatchRetrier:
    return BatchRetrier(
        FUNCTION,
        {**PROPERTIES, **overrides},
        "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/1",
        "arn:aws:sqs:us-east-1:123456789012:failures",
        lambda arn, message: sent.append(message),
        function,
        retry_delay=0,
        stop=threading.Event(),
    )


def test_a_clean_batch_is_invoked_once() -> None:
    function, sent = ScriptedFunction(), Sent()
    retrier(function, sent).process([record(1), record(2)], shard_id="shard-1")
    assert function.batches == [[1, 2]]
    assert sent == []


def test_partial_failure_retries_from_the_first_failed_record_only() -> None:
    function, sent = ScriptedFunction(failing={2}), Sent()
    retrier(function, sent).process([record(1), record(2), record(3)], shard_id="shard-1")
    # 1 is checkpointed; 2 keeps failing: retried (with 3 behind it) until the retries run out
    assert function.batches == [[1, 2, 3], [2, 3], [2, 3]]
    (failure,) = sent
    info = failure["DDBStreamBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]) == ("0002", "0003", 2)
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert info["shardId"] == "shard-1"


def test_a_function_error_bisects_the_batch_to_isolate_the_bad_record() -> None:
    function, sent = ScriptedFunction(crash_on={3}), Sent()
    retrier(function, sent, MaximumRetryAttempts=3).process([record(n) for n in (1, 2, 3, 4)], shard_id="s")
    assert function.batches[:3] == [[1, 2, 3, 4], [1, 2], [3, 4]]
    assert [1, 2] in function.batches
    assert [4] in function.batches
    (failure,) = sent
    assert failure["DDBStreamBatchInfo"]["startSequenceNumber"] == "0003"
    assert failure["DDBStreamBatchInfo"]["batchSize"] == 1


def test_without_bisect_the_whole_batch_is_retried() -> None:
    function, sent = ScriptedFunction(crash_on={2}), Sent()
    retrier(function, sent, BisectBatchOnFunctionError=False).process([record(1), record(2)], shard_id="s")
    assert function.batches == [[1, 2]] * 3
    assert sent[0]["DDBStreamBatchInfo"]["batchSize"] == 2


def test_a_malformed_partial_response_fails_the_whole_batch() -> None:
    sent: list[dict[str, Any]] = []
    calls: list[int] = []

    def malformed(function: FunctionSpec, payload: bytes, trigger: str) -> InvokeResult:
        calls.append(1)
        return InvokeResult(True, b'{"batchItemFailures": [{"itemIdentifier": "unknown"}]}', 1.0, False)

    retrier(malformed, sent).process([record(1)], shard_id="s")  # type: ignore[arg-type]
    assert len(calls) == 3
    assert len(sent) == 1


def test_records_older_than_the_maximum_age_go_to_on_failure_unprocessed() -> None:
    function, sent = ScriptedFunction(), Sent()
    retrier(function, sent).process([record(1, age=7200), record(2)], shard_id="s")
    assert function.batches == [[2]]
    assert sent[0]["requestContext"]["condition"] == "RecordAgeExceeded"
