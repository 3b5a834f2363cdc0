"""The admin's queue use cases against in-memory fakes: what each redrive does, that a message leaves its
queue only after its action succeeded, and that every decision is logged and audited."""

from __future__ import annotations

import json
from typing import Any

import pytest

from referral_engine.domain.errors import InvalidRequest
from referral_engine.domain.models import Signal, SignalMatch
from referral_engine.domain.records import json_values
from referral_engine.ports import MessageNotFound
from referral_engine.services.admin_messages import DLQS, EXCEPTIONS, QueueName
from referral_engine.services.admin_queues import AdminQueueService
from referral_engine.services.admin_redrive import Redriver
from referral_engine.services.announcements import ReferralAnnouncer, ReviewAnnouncer, StreamAnnouncers
from support.admin_fakes import (
    InMemoryAdminLog,
    InMemoryCreatedPublisher,
    InMemoryQueue,
    InMemoryRepublisher,
    InMemoryStream,
)
from support.events import sample
from support.fakes import World

QUEUES: tuple[QueueName, ...] = (*DLQS, EXCEPTIONS)


class Admin:
    """The admin service over the fakes, with the world it acts on."""

    def __init__(self) -> None:
        self.world = World()
        self.queues = {name: InMemoryQueue(name) for name in QUEUES}
        self.stream = InMemoryStream()
        self.republisher = InMemoryRepublisher()
        self.created = InMemoryCreatedPublisher()
        self.log = InMemoryAdminLog()
        backend = self.world.backend
        redriver = Redriver(
            participants=backend.participants,
            referrals=backend.referrals,
            inbox=backend.inbox,
            stream=self.stream,
            republisher=self.republisher,
            qualification=self.world.qualification,
            announcers=StreamAnnouncers(ReferralAnnouncer(self.created), ReviewAnnouncer(self.created)),
            bus_name="bus",
        )
        self.service = AdminQueueService(self.queues, redriver, self.log)

    def audit(self, referral_id: str) -> list[Any]:
        history = self.world.referrals.history(referral_id)
        return [entry for entry in history.audit if entry.action.startswith("admin.")]


@pytest.fixture
def admin() -> Admin:
    return Admin()


def exception_body(signal: Signal) -> str:
    image = {**json_values(signal), "entity": "signal"}
    return json.dumps({"reason": "unmatched_signal", "message": "no match", "function": "qualify",
                       "payload": {"signal": image}})  # fmt: skip


def pointers(start: int, end: int) -> str:
    batch = {
        "shardId": "shard-1",
        "startSequenceNumber": str(start),
        "endSequenceNumber": str(end),
        "batchSize": 1,
    }
    return json.dumps(
        {"requestContext": {"condition": "RetryAttemptsExhausted"}, "DDBStreamBatchInfo": batch}
    )


def a_late_signup(admin: Admin) -> tuple[Signal, str]:
    """A signal for someone who had not signed up when it came, and the referral they have now."""
    world = admin.world
    campaign = world.a_campaign()
    advocate = world.an_advocate(campaign)
    signal = world.a_signal(campaign.id, SignalMatch(email="late@example.org"), event_id="order-1")
    referral = world.a_referral(advocate, "late@example.org")
    return signal, referral.id


def test_listing_describes_every_message_and_consumes_none(admin: Admin) -> None:
    signal, _ = a_late_signup(admin)
    admin.queues["exceptions"].send(exception_body(signal))
    admin.queues["reward-events"].send(json.dumps(sample("issue_reward/referral_qualified")), ERROR_CODE="x")

    listed = admin.service.inspect(("exceptions", "reward-events"))

    assert [item.message.queue for item in listed] == ["exceptions", "reward-events"]
    assert listed[0].described.reason == "unmatched_signal: no match"
    assert listed[0].described.payload["event_id"] == "order-1"
    assert {name: (d.visible, d.in_flight) for name, d in admin.service.depths().items() if d.visible} == {
        "exceptions": (1, 0),
        "reward-events": (1, 0),
    }


def test_redriving_an_unmatched_signal_stores_it_again_audits_logs_and_deletes(admin: Admin) -> None:
    signal, referral_id = a_late_signup(admin)
    message_id = admin.queues["exceptions"].send(exception_body(signal))

    [result] = admin.service.redrive("exceptions", message_id, operator="ada", reason="signed up late")

    assert result.ok, result.detail
    [stored] = result.signals
    again = [s for s in admin.world.backend.inbox.signals.values() if s.redrive_of == "order-1"]
    assert [s.key for s in again] == [stored]
    assert [m.message_id for m in admin.queues["exceptions"].deleted] == [message_id]
    [entry] = admin.audit(referral_id)
    assert (entry.action, entry.actor, entry.detail["reason"]) == (
        "admin.signal_redriven",
        "admin:ada",
        "signed up late",
    )
    [action] = admin.log.actions
    assert (action.action, action.queue, action.operator, action.reason) == (
        "redrive",
        "exceptions",
        "ada",
        "signed up late",
    )
    assert action.body == exception_body(signal)


def test_an_event_that_missed_its_rule_goes_back_on_the_bus_as_it_was(admin: Admin) -> None:
    event = sample("issue_reward/referral_qualified")
    message_id = admin.queues["reward-events"].send(json.dumps(event))

    [result] = admin.service.redrive("reward-events", message_id, operator="ada")

    assert result.ok
    assert result.detail == "referral.qualified put back on the bus bus"
    assert admin.republisher.events == [event]
    assert admin.queues["reward-events"].depth().visible == 0


def test_a_failed_redrive_leaves_the_message_in_the_queue_and_logs_nothing(admin: Admin) -> None:
    admin.republisher.refuse = True
    message_id = admin.queues["hook-events"].send(json.dumps(sample("issue_reward/referral_qualified")))

    [result] = admin.service.redrive("hook-events", message_id, operator="ada")

    assert not result.ok
    assert "EventBridge refused" in result.detail
    assert [m.message_id for m in admin.queues["hook-events"].visible] == [message_id]
    assert admin.log.actions == []


def test_one_failure_does_not_stop_a_redrive_of_the_whole_queue(admin: Admin) -> None:
    good = admin.queues["reward-events"].send(json.dumps(sample("issue_reward/referral_qualified")))
    bad = admin.queues["reward-events"].send("not an event")

    results = admin.service.redrive("reward-events", None, operator="ada")

    assert [(r.message_id, r.ok) for r in results] == [(good, True), (bad, False)]
    assert [m.message_id for m in admin.queues["reward-events"].visible] == [bad]
    assert [a.message_id for a in admin.log.actions] == [good]


def test_a_stream_failure_is_redriven_from_the_records_it_points_at(admin: Admin) -> None:
    signal, _ = a_late_signup(admin)
    admin.stream.items = {7: {**json_values(signal), "entity": "signal"}, 8: {"entity": "click"}}
    message_id = admin.queues["qualify-failure"].send(pointers(7, 8))

    [result] = admin.service.redrive("qualify-failure", message_id, operator="ada")

    assert result.ok, result.detail
    again = [s for s in admin.world.backend.inbox.signals.values() if s.redrive_of == "order-1"]
    assert [s.key for s in again] == result.signals
    assert len(again) == 1


def test_stream_records_that_are_gone_leave_the_message_for_a_discard(admin: Admin) -> None:
    admin.stream.gone = True
    message_id = admin.queues["qualify-failure"].send(pointers(1, 2))

    [result] = admin.service.redrive("qualify-failure", message_id, operator="ada")

    assert not result.ok
    assert "can no longer be read" in result.detail
    assert admin.queues["qualify-failure"].depth().visible == 1


def test_new_referrals_deliver_hooks_could_not_announce_are_announced_again(admin: Admin) -> None:
    world = admin.world
    referral = world.a_referral(world.an_advocate(world.a_campaign()))
    admin.stream.items = {3: {**json_values(referral), "entity": "referral"}}
    message_id = admin.queues["announce-referrals-failure"].send(pointers(3, 3))

    [result] = admin.service.redrive("announce-referrals-failure", message_id, operator="ada")

    assert result.ok, result.detail
    assert result.referrals == [referral.id]
    assert [event.referral_id for event in admin.created.created] == [referral.id]


def test_the_moves_into_and_out_of_review_announce_referrals_could_not_announce_are_announced_again(
    admin: Admin,
) -> None:
    world = admin.world
    referral = world.a_referral(world.an_advocate(world.a_campaign()))
    in_review = {**json_values(referral), "entity": "referral", "status": "in_review"}
    admin.stream.items = {3: in_review}
    admin.stream.modifications = {4: (in_review, {**in_review, "status": "rejected"})}
    message_id = admin.queues["announce-referrals-failure"].send(pointers(3, 4))

    [result] = admin.service.redrive("announce-referrals-failure", message_id, operator="ada")

    assert result.ok, result.detail
    assert [event.referral_id for event in admin.created.created] == [referral.id]
    assert [event.detail_type for event in admin.created.reviews] == [
        "referral.in_review",
        "referral.rejected",
    ]
    assert result.detail == (
        f"referral.created published again for {referral.id}; referral.in_review published again for "
        f"{referral.id}; referral.rejected published again for {referral.id} on the bus bus"
    )


def test_a_discard_needs_a_reason_and_then_is_logged_and_audited(admin: Admin) -> None:
    signal, referral_id = a_late_signup(admin)
    message_id = admin.queues["exceptions"].send(exception_body(signal))

    with pytest.raises(InvalidRequest):
        admin.service.discard("exceptions", message_id, operator="ada", reason="  ")
    assert admin.queues["exceptions"].depth().visible == 1

    result = admin.service.discard("exceptions", message_id, operator="ada", reason="a test order")

    assert result.ok
    assert admin.queues["exceptions"].depth().visible == 0
    [entry] = admin.audit(referral_id)
    assert (entry.action, entry.detail["reason"]) == ("admin.signal_discarded", "a test order")
    [action] = admin.log.actions
    assert (action.action, action.reason, action.operator) == ("discard", "a test order", "ada")


def test_an_unknown_message_is_not_found_and_nothing_is_logged(admin: Admin) -> None:
    admin.queues["exceptions"].send("{}")

    with pytest.raises(MessageNotFound):
        admin.service.redrive("exceptions", "nope", operator="ada")
    with pytest.raises(MessageNotFound):
        admin.service.discard("exceptions", "nope", operator="ada", reason="x")
    assert admin.log.actions == []
    assert admin.queues["exceptions"].depth().visible == 1


def test_the_admin_log_pages_newest_first(admin: Admin) -> None:
    for _ in range(3):
        message_id = admin.queues["exceptions"].send("{}")
        admin.service.discard("exceptions", message_id, operator="ada", reason="noise")

    first = admin.service.admin_log(limit=2)
    rest = admin.service.admin_log(limit=2, cursor=first.next_cursor)

    ids = [entry["message_id"] for entry in first.items + rest.items]
    assert ids == [action.message_id for action in reversed(admin.log.actions)]
    with pytest.raises(InvalidRequest):
        admin.service.admin_log(cursor="not-ours")
