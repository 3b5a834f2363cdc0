"""REST deliveries: subscribing targets, samples for Zapier's performList, and delivering events to every
matching target at least once, with a 410 answer unsubscribing the target."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from referral_engine.domain.errors import NotFound
from referral_engine.domain.events import ReferralCreated
from referral_engine.domain.models import Campaign, Participant, Referral, ReferralStatus
from referral_engine.domain.records import Invalid, parse
from referral_engine.domain.subscriptions import (
    DELIVERY_ID_HEADER,
    EVENT_HEADER,
    EVENT_TIME,
    SUBSCRIPTION_EVENTS,
    DeliveryPayload,
    DeliveryTrigger,
    Subscription,
    SubscriptionEvent,
    Target,
    TargetPolicy,
    TargetRefused,
    occurred_at,
)
from referral_engine.ports import DeliveryFailed
from referral_engine.services.announcements import ReferralAnnouncer
from referral_engine.services.deliveries import DeliveryIncomplete, DeliveryService
from referral_engine.services.subscription_request import NewSubscription
from referral_engine.services.subscriptions import SubscriptionService
from support.events import sample
from support.fakes import World

BASE = "https://refer.example.com"
ZAP_A = "https://hooks.zapier.com/hooks/standard/1/aaa/"
ZAP_B = "https://hooks.zapier.com/hooks/standard/1/bbb/"
MAKE = "https://hook.eu1.make.com/ccc"
DNS = {"hooks.zapier.com": ["54.86.9.50"], "hook.eu1.make.com": ["3.124.120.45"]}


# ---------------------------------------------------------------------------------------- fakes


class InMemorySubscriptionStore:
    def __init__(self) -> None:
        self.items: dict[str, Subscription] = {}

    def add(self, subscription: Subscription) -> bool:
        if subscription.id in self.items:
            return False
        self.items[subscription.id] = subscription
        return True

    def get(self, subscription_id: str) -> Subscription | None:
        return self.items.get(subscription_id)

    def remove(self, subscription_id: str) -> bool:
        return self.items.pop(subscription_id, None) is not None

    def matching(self, event: SubscriptionEvent, campaign_id: str) -> list[Subscription]:
        return [s for s in self.items.values() if s.event == event and s.campaign_id in (campaign_id, None)]


class InMemoryDeliveryLog:
    def __init__(self) -> None:
        self.records: dict[str, tuple[str, int]] = {}

    def delivered(self, delivery_id: str) -> bool:
        return delivery_id in self.records

    def record(self, delivery_id: str, subscription_id: str, status: int) -> None:
        self.records[delivery_id] = (subscription_id, status)


@dataclass
class Posted:
    target: Target
    body: bytes
    headers: dict[str, str]

    @property
    def payload(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.body)
        return loaded


@dataclass
class ScriptedSender:
    """Answers 200 unless told otherwise per target URL path: a status, or None for no answer."""

    answers: dict[str, list[int | None]] = field(default_factory=dict)
    posted: list[Posted] = field(default_factory=list)

    def post(self, target: Target, body: bytes, headers: Mapping[str, str]) -> int:
        self.posted.append(Posted(target, body, dict(headers)))
        script = self.answers.get(target.path, [])
        answer = script.pop(0) if script else 200
        if answer is None:
            raise DeliveryFailed("TimeoutError: timed out")
        return answer

    def paths(self) -> list[str]:
        return [p.target.path for p in self.posted]


@dataclass
class RecordingPublisher:
    published: list[ReferralCreated] = field(default_factory=list)

    def publish_created(self, event: ReferralCreated) -> None:
        self.published.append(event)


def resolve(host: str, port: int) -> Sequence[str]:
    if host not in DNS:
        raise OSError(f"no such host {host}")
    return DNS[host]


@dataclass
class Deliveries:
    world: World
    store: InMemorySubscriptionStore
    log: InMemoryDeliveryLog
    sender: ScriptedSender
    service: SubscriptionService
    delivery: DeliveryService

    def subscribe(
        self, target: str, event: SubscriptionEvent, campaign_id: str | None = None
    ) -> Subscription:
        subscription, _ = self.service.subscribe(
            NewSubscription(target_url=target, event=event, campaign_id=campaign_id), base_url=BASE
        )
        return subscription


@pytest.fixture
def deliveries(world: World) -> Deliveries:
    backend = world.backend
    store, log, sender = InMemorySubscriptionStore(), InMemoryDeliveryLog(), ScriptedSender()
    policy = TargetPolicy(resolve)
    return Deliveries(
        world,
        store,
        log,
        sender,
        SubscriptionService(backend.campaigns, backend.participants, backend.referrals, store, policy),
        DeliveryService(backend.referrals, backend.participants, store, log, sender, policy),
    )


@pytest.fixture
def campaign(world: World) -> Campaign:
    return world.a_campaign()


@pytest.fixture
def advocate(world: World, campaign: Campaign) -> Participant:
    return world.an_advocate(campaign, "ann@example.com")


# ---------------------------------------------------------------------------------- subscribing


def test_subscribing_stores_the_target_once(deliveries: Deliveries, campaign: Campaign) -> None:
    request = NewSubscription(target_url=ZAP_A, event="referral.qualified", campaign_id=campaign.id)

    first, created = deliveries.service.subscribe(request, base_url=BASE)
    again, created_again = deliveries.service.subscribe(request, base_url="https://other.example.com")

    assert (created, created_again) == (True, False)
    assert again == first
    assert first.id.startswith("hks_")
    assert (first.event, first.campaign_id, first.target_url, first.base_url) == (
        "referral.qualified",
        campaign.id,
        ZAP_A,
        BASE,
    )
    assert list(deliveries.store.items) == [first.id]


def test_each_event_and_campaign_scope_is_its_own_subscription(
    deliveries: Deliveries, campaign: Campaign
) -> None:
    ids = {
        deliveries.subscribe(ZAP_A, "referral.qualified", campaign.id).id,
        deliveries.subscribe(ZAP_A, "referral.created", campaign.id).id,
        deliveries.subscribe(ZAP_A, "referral.created").id,
    }
    assert len(ids) == len(deliveries.store.items) == 3


def test_a_blank_campaign_means_every_campaign() -> None:
    request = NewSubscription.model_validate(
        {"target_url": ZAP_A, "event": "referral.created", "campaign_id": ""}
    )
    assert request.campaign_id is None


@pytest.mark.parametrize(
    "body",
    [
        {"target_url": ZAP_A, "event": "referral.rewarded"},
        {"target_url": ZAP_A},
        {"event": "referral.created"},
        {"target_url": ZAP_A, "event": "referral.created", "secret": "x"},
        {"target_url": "https://hooks.zapier.com/" + "a" * 2100, "event": "referral.created"},
    ],
)
def test_malformed_subscriptions_are_invalid(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        NewSubscription.model_validate(body)


@pytest.mark.parametrize(
    "target", ["http://hooks.zapier.com/x", "https://10.0.0.8/hook", "https://unknown.example.com/x"]
)
def test_a_refused_target_writes_nothing(deliveries: Deliveries, target: str) -> None:
    with pytest.raises(TargetRefused):
        deliveries.subscribe(target, "referral.created")
    assert deliveries.store.items == {}


def test_a_subscription_to_an_unknown_campaign_is_not_found(deliveries: Deliveries) -> None:
    with pytest.raises(NotFound):
        deliveries.subscribe(ZAP_A, "referral.created", "cmp_missing")
    assert deliveries.store.items == {}


def test_unsubscribing_is_idempotent(deliveries: Deliveries) -> None:
    subscription = deliveries.subscribe(ZAP_A, "referral.created")

    assert deliveries.service.unsubscribe(subscription.id) is True
    assert deliveries.service.unsubscribe(subscription.id) is False
    assert deliveries.service.unsubscribe("x" * 5000) is False
    assert deliveries.store.items == {}


# -------------------------------------------------------------------------------------- samples


def test_without_referrals_the_sample_is_a_fixed_example(deliveries: Deliveries, campaign: Campaign) -> None:
    [sample] = deliveries.service.samples("referral.created", campaign_id=campaign.id, limit=3, base_url=BASE)
    assert (sample.id, sample.event, sample.status) == ("ref_example", "referral.created", "pending")
    assert sample.share_url == f"{BASE}/r/example2code"
    [qualified] = deliveries.service.samples("referral.qualified", campaign_id=None, limit=3, base_url=BASE)
    assert (qualified.status, qualified.qualified_at is not None) == ("qualified", True)
    [reversed_] = deliveries.service.samples("referral.reversed", campaign_id=None, limit=3, base_url=BASE)
    assert (reversed_.status, reversed_.event) == ("reversed", "referral.reversed")
    assert reversed_.qualified_at is not None
    assert reversed_.reversed_at is not None


def test_samples_are_the_newest_real_referrals_as_a_delivery_sends_them(
    deliveries: Deliveries, world: World, advocate: Participant
) -> None:
    referrals = [world.a_referral(advocate, f"friend{n}@example.com") for n in range(4)]

    samples = deliveries.service.samples(
        "referral.created", campaign_id=advocate.campaign_id, limit=3, base_url=BASE
    )

    assert [s.id for s in samples] == [r.id for r in reversed(referrals)][:3]
    newest = samples[0].json_body()
    assert newest == {
        "id": referrals[3].id,
        "event": "referral.created",
        "campaign_id": advocate.campaign_id,
        "status": "pending",
        "referral_code": referrals[3].referred_code,
        "share_url": f"{BASE}/r/{referrals[3].referred_code}",
        "referred": {
            "code": referrals[3].referred_code,
            "email": "friend3@example.com",
            "name": None,
            "external_ids": {},
        },
        "advocate": {"code": advocate.code, "email": "ann@example.com", "name": None, "external_ids": {}},
        "joined_at": referrals[3].joined_at.isoformat().replace("+00:00", "Z"),
        "qualified_at": None,
        "rewarded_at": None,
        "reversed_at": None,
    }


def test_qualified_samples_are_the_latest_qualified_across_campaigns(
    deliveries: Deliveries, world: World
) -> None:
    first = world.an_advocate(world.a_campaign(), "ann@example.com")
    second = world.an_advocate(world.a_campaign(), "cy@example.com")
    pending = world.a_referral(first, "p@example.com")
    early = world.a_referral(first, "e@example.com")
    late = world.a_referral(second, "l@example.com")
    world.a_qualified_referral(early)
    world.a_qualified_referral(late)

    samples = deliveries.service.samples("referral.qualified", campaign_id=None, limit=10, base_url=BASE)

    assert [s.id for s in samples] == [late.id, early.id]
    assert pending.id not in {s.id for s in samples}
    assert all(s.status == "qualified" and s.event == "referral.qualified" for s in samples)


def test_reversed_samples_are_only_the_reversed_referrals(
    deliveries: Deliveries, world: World, advocate: Participant
) -> None:
    qualified = world.a_referral(advocate, "q@example.com")
    refunded = world.a_referral(advocate, "r@example.com")
    world.a_qualified_referral(qualified)
    event = world.a_reversed_referral(refunded)
    world.a_qualified_referral(world.a_referral(advocate, "later@example.com"))  # the newest qualified

    [sample] = deliveries.service.samples(
        "referral.reversed", campaign_id=advocate.campaign_id, limit=3, base_url=BASE
    )

    assert (sample.id, sample.status, sample.event) == (refunded.id, "reversed", "referral.reversed")
    assert sample.reversed_at == event.reversed_at


def test_samples_of_an_unknown_campaign_are_not_found(deliveries: Deliveries) -> None:
    with pytest.raises(NotFound):
        deliveries.service.samples("referral.created", campaign_id="cmp_missing", limit=3, base_url=BASE)


# ------------------------------------------------------------------------------------- delivery


@pytest.mark.parametrize("event", SUBSCRIPTION_EVENTS)
def test_a_bus_events_detail_names_the_referral_and_when(event: SubscriptionEvent) -> None:
    detail = sample(f"deliver_events/{event.replace('.', '_')}")["detail"]

    trigger = parse(DeliveryTrigger, detail)

    assert (trigger.referral_id, trigger.campaign_id) == (detail["referral_id"], detail["campaign_id"])
    assert occurred_at(event, trigger) == datetime.fromisoformat(detail[EVENT_TIME[event]])


@pytest.mark.parametrize(
    "detail",
    [
        None,
        {"campaign_id": "cmp_1"},
        {"referral_id": "ref_1", "campaign_id": "cmp_1", "joined_at": "yesterday"},
    ],
)
def test_a_detail_that_names_no_referral_or_no_time_is_invalid(detail: object) -> None:
    with pytest.raises(Invalid):
        parse(DeliveryTrigger, detail)


def created(deliveries: Deliveries, referral: Referral) -> Any:
    return deliveries.delivery.deliver(
        "referral.created", referral.id, referral.joined_at, campaign_id=referral.campaign_id
    )


def test_an_event_goes_to_the_campaigns_and_the_every_campaign_subscriptions(
    deliveries: Deliveries, world: World, advocate: Participant
) -> None:
    other_campaign = world.a_campaign()
    mine = deliveries.subscribe(ZAP_A, "referral.created", advocate.campaign_id)
    everywhere = deliveries.subscribe(MAKE, "referral.created")
    deliveries.subscribe(ZAP_B, "referral.created", other_campaign.id)  # another campaign
    deliveries.subscribe(ZAP_B, "referral.qualified", advocate.campaign_id)  # another event
    referral = world.a_referral(advocate)

    report = created(deliveries, referral)

    assert sorted(report.delivered) == sorted([mine.id, everywhere.id])
    assert sorted(deliveries.sender.paths()) == ["/ccc", "/hooks/standard/1/aaa/"]
    posted = deliveries.sender.posted[0]
    assert posted.payload["id"] == referral.id
    assert posted.payload["event"] == "referral.created"
    assert posted.payload["advocate"]["email"] == "ann@example.com"
    assert posted.headers["Content-Type"] == "application/json"
    assert posted.headers[EVENT_HEADER] == "referral.created"
    delivery_ids = {p.headers[DELIVERY_ID_HEADER] for p in deliveries.sender.posted}
    assert len(delivery_ids) == 2  # one per subscription
    assert set(deliveries.log.records) == delivery_ids


def test_the_same_event_again_is_not_posted_again(
    deliveries: Deliveries, world: World, advocate: Participant
) -> None:
    deliveries.subscribe(ZAP_A, "referral.created")
    referral = world.a_referral(advocate)
    created(deliveries, referral)

    report = created(deliveries, referral)

    assert len(deliveries.sender.posted) == 1
    assert (report.delivered, len(report.already)) == ([], 1)


def test_a_qualified_referral_is_delivered_with_its_qualification(
    deliveries: Deliveries, world: World, advocate: Participant
) -> None:
    deliveries.subscribe(ZAP_A, "referral.qualified", advocate.campaign_id)
    event = world.a_qualified_referral(world.a_referral(advocate))

    deliveries.delivery.deliver(
        "referral.qualified", event.referral_id, event.qualified_at, campaign_id=event.campaign_id
    )

    [posted] = deliveries.sender.posted
    assert posted.payload["status"] == "qualified"
    assert posted.payload["qualified_at"] == event.qualified_at.isoformat().replace("+00:00", "Z")


def test_a_reversed_referral_is_delivered_once_with_its_reversal(
    deliveries: Deliveries, world: World, advocate: Participant
) -> None:
    deliveries.subscribe(ZAP_A, "referral.reversed", advocate.campaign_id)
    deliveries.subscribe(ZAP_B, "referral.qualified", advocate.campaign_id)
    referral = world.a_referral(advocate)
    event = world.a_reversed_referral(referral)

    deliveries.delivery.deliver(
        "referral.reversed", event.referral_id, event.reversed_at, campaign_id=event.campaign_id
    )
    again = deliveries.delivery.deliver(
        "referral.reversed", event.referral_id, event.reversed_at, campaign_id=event.campaign_id
    )

    [posted] = deliveries.sender.posted
    assert posted.target.path == "/hooks/standard/1/aaa/"
    assert posted.headers[EVENT_HEADER] == "referral.reversed"
    assert (posted.payload["id"], posted.payload["status"]) == (referral.id, "reversed")
    assert posted.payload["reversed_at"] == event.reversed_at.isoformat().replace("+00:00", "Z")
    assert posted.payload["qualified_at"] is not None
    assert len(again.already) == 1


# The JSON a subscriber receives, byte for byte: field names and order, RFC 3339 times with `Z`, nulls kept,
# non-ASCII escaped (json.dumps' defaults). Receivers parse it already: it must not drift.
FIXED_REFERRAL = Referral(
    id="ref_01HV",
    campaign_id="cmp_01HV",
    advocate_code="ada2code",
    referred_code="zoe2code",
    referred_email="zoe@example.org",
    referred_name="Zoë Ünal",
    external_ids={"stripe": "cus_Q1", "hubspot": "901"},
    status=ReferralStatus.QUALIFIED,
    joined_at=datetime(2026, 3, 1, 8, 15, 30, 123456, tzinfo=UTC),
    qualified_at=datetime(2026, 3, 4, 17, 0, tzinfo=UTC),
    qualified_by="stripe:in_1",
    correlation_id="Zk3fGhJ2IAMEbQw=",
)
FIXED_ADVOCATE = Participant(
    code="ada2code",
    campaign_id="cmp_01HV",
    email="ada@example.com",
    name='Ada "The" Lovelace',
    landing_url="https://shop.example/",
    created_at=datetime(2026, 1, 1, tzinfo=UTC),
)
PINNED_BODY = (
    b'{"id": "ref_01HV", "event": "referral.qualified", "campaign_id": "cmp_01HV", "status": "qualified", '
    b'"referral_code": "zoe2code", "share_url": "https://refer.example.com/r/zoe2code", '
    b'"referred": {"code": "zoe2code", "email": "zoe@example.org", "name": "Zo\\u00eb \\u00dcnal", '
    b'"external_ids": {"stripe": "cus_Q1", "hubspot": "901"}}, '
    b'"advocate": {"code": "ada2code", "email": "ada@example.com", "name": "Ada \\"The\\" Lovelace", '
    b'"external_ids": {}}, '
    b'"joined_at": "2026-03-01T08:15:30.123456Z", "qualified_at": "2026-03-04T17:00:00Z", '
    b'"rewarded_at": null, "reversed_at": null}'
)


def test_the_delivered_json_is_pinned(deliveries: Deliveries, world: World) -> None:
    world.backend.referrals.referrals[FIXED_REFERRAL.id] = FIXED_REFERRAL
    world.backend.participants.participants[FIXED_ADVOCATE.code] = FIXED_ADVOCATE
    deliveries.store.add(
        Subscription(
            id="hks_pinned",
            event="referral.qualified",
            target_url=ZAP_A,
            base_url="https://refer.example.com/",
            created_at=datetime(2026, 1, 2, tzinfo=UTC),
        )
    )

    deliveries.delivery.deliver(
        "referral.qualified",
        FIXED_REFERRAL.id,
        datetime(2026, 3, 4, 17, 0, tzinfo=UTC),
        campaign_id=FIXED_REFERRAL.campaign_id,
    )

    [posted] = deliveries.sender.posted
    assert posted.body == PINNED_BODY
    # The receiver's dedupe key: the same for every attempt, before and after a deploy.
    assert posted.headers[DELIVERY_ID_HEADER] == "dlv_4888f9cfec7715b707d5018a9c2cd3b5"


def test_a_payload_without_an_advocate_or_a_base_url_has_nulls_there() -> None:
    payload = DeliveryPayload.of("referral.created", FIXED_REFERRAL, None, "").json_body()

    expected = PINNED_BODY
    for pinned, now in [
        (b'"referral.qualified"', b'"referral.created"'),
        (b'"https://refer.example.com/r/zoe2code"', b"null"),
        (b'"email": "ada@example.com", "name": "Ada \\"The\\" Lovelace"', b'"email": null, "name": null'),
    ]:
        expected = expected.replace(pinned, now)
    assert json.dumps(payload).encode() == expected


def test_a_target_answering_410_is_unsubscribed(
    deliveries: Deliveries, world: World, advocate: Participant
) -> None:
    gone = deliveries.subscribe(ZAP_A, "referral.created")
    kept = deliveries.subscribe(ZAP_B, "referral.created")
    deliveries.sender.answers["/hooks/standard/1/aaa/"] = [410]

    report = created(deliveries, world.a_referral(advocate))
    created(deliveries, world.a_referral(advocate, "second@example.com"))

    assert (report.removed, report.delivered) == ([gone.id], [kept.id])
    assert list(deliveries.store.items) == [kept.id]
    assert deliveries.sender.paths().count("/hooks/standard/1/aaa/") == 1


@pytest.mark.parametrize("answer", [500, 503, 429, 404, 301, None])
def test_a_failing_target_fails_the_event_after_every_target_was_tried(
    deliveries: Deliveries, world: World, advocate: Participant, answer: int | None
) -> None:
    failing = deliveries.subscribe(ZAP_A, "referral.created")
    fine = deliveries.subscribe(ZAP_B, "referral.created")
    deliveries.sender.answers["/hooks/standard/1/aaa/"] = [answer]
    referral = world.a_referral(advocate)

    with pytest.raises(DeliveryIncomplete) as incomplete:
        created(deliveries, referral)
    assert list(incomplete.value.failures) == [failing.id]
    assert ZAP_A not in str(incomplete.value)  # target URLs are secrets: never in errors or logs
    assert sorted(deliveries.sender.paths()) == ["/hooks/standard/1/aaa/", "/hooks/standard/1/bbb/"]

    # The retry posts only to the target that did not take it, with the same delivery id.
    report = created(deliveries, referral)
    assert (report.delivered, report.already) == ([failing.id], [fine.id])
    first, _, retried = deliveries.sender.posted
    assert retried.target.path == first.target.path == "/hooks/standard/1/aaa/"
    assert retried.headers[DELIVERY_ID_HEADER] == first.headers[DELIVERY_ID_HEADER]
    assert set(deliveries.store.items) == {failing.id, fine.id}  # only 410 unsubscribes


def test_a_target_that_now_resolves_to_a_private_address_is_not_called(
    deliveries: Deliveries, world: World, advocate: Participant, monkeypatch: pytest.MonkeyPatch
) -> None:
    subscription = deliveries.subscribe(ZAP_A, "referral.created")
    monkeypatch.setitem(DNS, "hooks.zapier.com", ["10.0.0.7"])

    with pytest.raises(DeliveryIncomplete) as incomplete:
        created(deliveries, world.a_referral(advocate))

    assert deliveries.sender.posted == []
    assert incomplete.value.failures[subscription.id].startswith("refused")


def test_without_a_subscription_the_referral_is_not_even_read(
    deliveries: Deliveries, world: World, advocate: Participant
) -> None:
    deliveries.subscribe(ZAP_A, "referral.created", world.a_campaign().id)  # another campaign's
    referral = world.a_referral(advocate)

    class Unread:
        def get(self, referral_id: str) -> None:
            raise AssertionError(f"{referral_id} was read")

    delivery = DeliveryService(
        Unread(),  # type: ignore[arg-type]
        world.backend.participants,
        deliveries.store,
        deliveries.log,
        deliveries.sender,
        TargetPolicy(resolve),
    )

    report = delivery.deliver(
        "referral.created", referral.id, referral.joined_at, campaign_id=referral.campaign_id
    )

    assert report.summary() == {"delivered": 0, "already_delivered": 0, "removed": 0, "failed": 0}
    assert deliveries.sender.posted == []


def test_an_event_about_an_unknown_referral_delivers_nothing(deliveries: Deliveries) -> None:
    deliveries.subscribe(ZAP_A, "referral.created")
    report = deliveries.delivery.deliver(
        "referral.created", "ref_missing", datetime.now(UTC), campaign_id="cmp_1"
    )
    assert report.summary() == {"delivered": 0, "already_delivered": 0, "removed": 0, "failed": 0}
    assert deliveries.sender.posted == []


def test_a_later_qualification_of_the_same_referral_is_a_new_delivery(
    deliveries: Deliveries, world: World, advocate: Participant
) -> None:
    deliveries.subscribe(ZAP_A, "referral.qualified")
    event = world.a_qualified_referral(world.a_referral(advocate))

    deliveries.delivery.deliver(
        "referral.qualified", event.referral_id, event.qualified_at, campaign_id=event.campaign_id
    )
    deliveries.delivery.deliver(
        "referral.qualified", event.referral_id, event.qualified_at, campaign_id=event.campaign_id
    )  # republished
    deliveries.delivery.deliver(
        "referral.qualified",
        event.referral_id,
        event.qualified_at + timedelta(days=1),
        campaign_id=event.campaign_id,
    )

    ids = [p.headers[DELIVERY_ID_HEADER] for p in deliveries.sender.posted]
    assert len(ids) == 2
    assert ids[0] != ids[1]


# ----------------------------------------------------------------------------------- announcing


def test_a_new_referral_is_announced_as_referral_created() -> None:
    publisher = RecordingPublisher()

    event = ReferralAnnouncer(publisher).announce(FIXED_REFERRAL)

    assert publisher.published == [event]
    announced = (
        event.referral_id,
        event.campaign_id,
        event.advocate_code,
        event.referred_code,
        event.joined_at,
        event.correlation_id,
    )
    assert announced == (
        "ref_01HV",
        "cmp_01HV",
        "ada2code",
        "zoe2code",
        FIXED_REFERRAL.joined_at,
        "Zk3fGhJ2IAMEbQw=",
    )
    assert ReferralCreated.detail_type == "referral.created"
