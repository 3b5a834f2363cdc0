"""The stream consumers' batch loop answers Lambda as Powertools' `process_partial_response` does."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from referral_engine.adapters.dynamodb_stream_batch import (
    EntireBatchFailed,
    NotAStreamBatch,
    StreamRecord,
    process_stream_batch,
)
from support.events import sample
from support.logs import Logs


def record(sequence_number: str, image: dict[str, Any] | None = None) -> dict[str, Any]:
    stream: dict[str, Any] = {"SequenceNumber": sequence_number, "Keys": {"pk": {"S": sequence_number}}}
    if image is not None:
        stream["NewImage"] = image
    return {"eventID": f"event-{sequence_number}", "eventName": "INSERT", "dynamodb": stream}


def batch(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}


class Handler:
    """A record handler that keeps what it was given and fails for the images it is told to."""

    def __init__(self, failing: frozenset[str] = frozenset()) -> None:
        self.seen: list[StreamRecord] = []
        self._failing = failing

    def __call__(self, record: StreamRecord) -> None:
        self.seen.append(record)
        if record.new_image.get("pk") in self._failing:
            raise ConnectionError(f"the bus refused {record.new_image['pk']}")


def test_when_no_record_fails_none_is_reported_and_each_gets_its_decoded_image() -> None:
    handle = Handler()

    response = process_stream_batch(sample("qualify/stream_signal_batch"), handle)

    assert response == {"batchItemFailures": []}
    first = handle.seen[0]
    assert first.event_id == "c4ca4238a0b923820dcc509a6f758491"
    assert first.new_image["amount"] == Decimal("79.00")
    assert first.new_image["expires_at"] == 1798488904  # a whole number reads back as int
    assert first.new_image["match"] == {"referral_id": "ref_01jd3k9z8y7x6w5v4t3s2r1q0p"}
    assert [seen.new_image["event_id"] for seen in handle.seen] == ["inv_1QmZ8f2eZvKYlo2C", "order-10045"]


def test_a_failed_record_is_reported_by_its_sequence_number_and_logged_with_its_traceback(logs: Logs) -> None:
    handle = Handler(failing=frozenset({"B"}))

    response = process_stream_batch(
        batch(record("100", {"pk": {"S": "A"}}), record("200", {"pk": {"S": "B"}}), record("300", {})), handle
    )

    assert response == {"batchItemFailures": [{"itemIdentifier": "200"}]}
    assert [seen.event_id for seen in handle.seen] == ["event-100", "event-200", "event-300"]
    [failed] = [line for line in logs() if line["message"] == "stream record failed; Lambda retries it"]
    assert (failed["level"], failed["sequence_number"]) == ("WARNING", "200")
    assert failed["exception_name"] == "ConnectionError"
    assert failed["exception"].startswith("Traceback (most recent call last)")
    assert "the bus refused B" in failed["exception"]


def test_when_every_record_fails_the_invocation_fails_after_logging_each(logs: Logs) -> None:
    handle = Handler(failing=frozenset({"A", "B"}))

    with pytest.raises(EntireBatchFailed, match="all 2 records"):
        process_stream_batch(batch(record("1", {"pk": {"S": "A"}}), record("2", {"pk": {"S": "B"}})), handle)

    assert len(handle.seen) == 2
    failed = [line for line in logs() if line["message"] == "stream record failed; Lambda retries it"]
    assert [line["sequence_number"] for line in failed] == ["1", "2"]


def test_a_record_without_a_new_image_is_handed_over_with_an_empty_one() -> None:
    handle = Handler()

    assert process_stream_batch(batch(record("7")), handle) == {"batchItemFailures": []}

    assert handle.seen == [StreamRecord(event_id="event-7", new_image={})]


def test_an_image_that_cannot_be_decoded_fails_only_its_record() -> None:
    handle = Handler()
    unreadable = record("2", {"pk": {"UNKNOWN": "?"}})

    response = process_stream_batch(batch(record("1", {"pk": {"S": "A"}}), unreadable), handle)

    assert response == {"batchItemFailures": [{"itemIdentifier": "2"}]}
    assert [seen.event_id for seen in handle.seen] == ["event-1"]


@pytest.mark.parametrize("event", [{}, {"Records": []}, {"Records": "none"}], ids=["none", "empty", "text"])
def test_an_event_without_records_is_not_a_stream_batch(event: dict[str, Any]) -> None:
    with pytest.raises(NotAStreamBatch):
        process_stream_batch(event, Handler())
