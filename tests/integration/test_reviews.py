"""The review queue (docs/adr/0019) through the admin function against moto: what is listed, in which
order and by which filters; what a decision does, exactly once; and that a refusal writes nothing."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

import announce_referrals
import review_queue_age
from referral_engine import wiring
from referral_engine.domain.models import Reward, RewardStatus
from referral_engine.domain.records import parse
from referral_engine.domain.reviews import Decision, ReviewDecided
from support.admin_calls import call
from support.aws import BUS, AwsStack, receive_all, wire_event_delivery
from support.events import LambdaContext, json_body
from support.journey import (
    call_route,
    create_campaign,
    enrol,
    get_referral,
    qualify_via_api,
    run_issue_reward,
    run_qualify,
    sign_up,
)

REVIEWS = "/v1/admin/reviews"
REVIEW = "/v1/admin/reviews/{review_id}"


@pytest.fixture
def admin_key(stack: AwsStack) -> str:
    return wiring.api_keys().create("reviewer", scope="admin").secret


def flagged(campaign_id: str, advocate: str = "ada.lovelace@gmail.com", tag: str = "x") -> dict[str, Any]:
    """A self-referral by another spelling of the advocate's Gmail address: in review."""
    code = enrol(campaign_id, advocate)["code"]
    local, domain = advocate.split("@")
    referral = sign_up(code, f"{local.replace('.', '')}+{tag}@{domain}")
    assert referral["status"] == "in_review"
    return referral


def listed(key: str, **query: str) -> dict[str, Any]:
    response = call("GET", REVIEWS, key=key, query=query or None)
    assert response["statusCode"] == 200, response
    return json_body(response)


def review_of(key: str, referral: dict[str, Any]) -> dict[str, Any]:
    [item] = [item for item in listed(key)["items"] if item["referral_id"] == referral["id"]]
    return dict(item)


def decide(key: str, review_id: str, verb: str, reason: str = "checked with the customer") -> dict[str, Any]:
    return call("POST", f"{REVIEW}/{verb}", key=key, body={"reason": reason}, review_id=review_id)


def status_of(referral: dict[str, Any]) -> str:
    return str(json_body(get_referral(referral["id"]))["status"])


# ------------------------------------------------------------------------------------ listing
def test_flagged_signups_are_listed_oldest_first_with_their_reasons(admin_key: str) -> None:
    campaign = create_campaign()
    first = flagged(campaign["id"], "ada.lovelace@gmail.com")
    second = flagged(campaign["id"], "grace.hopper@gmail.com")

    items = listed(admin_key)["items"]

    assert [item["referral_id"] for item in items] == [first["id"], second["id"]]
    assert {(item["kind"], item["status"], tuple(item["reasons"])) for item in items} == {
        ("fraud", "open", ("self_referral_email",))
    }
    assert all(item["id"].startswith("rev_") and item["age_seconds"] >= 0 for item in items)


def test_the_list_filters_by_campaign_reason_kind_and_age_and_pages(admin_key: str) -> None:
    one, other = create_campaign(), create_campaign()
    mine = flagged(one["id"], "ada.lovelace@gmail.com")
    flagged(other["id"], "grace.hopper@gmail.com")
    flagged(one["id"], "alan.turing@gmail.com")

    by_campaign = listed(admin_key, campaign_id=one["id"])["items"]
    assert {item["campaign_id"] for item in by_campaign} == {one["id"]}
    assert len(by_campaign) == 2
    assert len(listed(admin_key, reason="self_referral_email")["items"]) == 3
    assert listed(admin_key, reason="disposable_email_domain")["items"] == []
    assert listed(admin_key, kind="clawback")["items"] == []
    assert listed(admin_key, older_than="3600")["items"] == []
    first_page = listed(admin_key, limit="1")
    assert [item["referral_id"] for item in first_page["items"]] == [mine["id"]]
    rest = listed(admin_key, limit="5", cursor=first_page["next_cursor"])["items"]
    assert len(rest) == 2
    assert mine["id"] not in [item["referral_id"] for item in rest]


@pytest.mark.parametrize(
    "query",
    [{"reason": "no_such_reason"}, {"kind": "refund"}, {"older_than": "-1"}, {"limit": "0"}],
)
def test_a_bad_filter_is_a_422(admin_key: str, query: dict[str, str]) -> None:
    response = call("GET", REVIEWS, key=admin_key, query=query)

    assert response["statusCode"] == 422
    assert json_body(response)["error"]["details"][0]["field"] == f"query.{next(iter(query))}"


def test_a_cursor_it_did_not_issue_is_a_400(admin_key: str) -> None:
    assert call("GET", REVIEWS, key=admin_key, query={"cursor": "bm90IG91cnM"})["statusCode"] == 400


def test_the_review_shows_the_evidence_and_the_advocates_history(admin_key: str) -> None:
    campaign = create_campaign()
    referral = flagged(campaign["id"])
    code = json_body(get_referral(referral["id"]))["advocate"]["code"]
    sign_up(code, "linus@example.org")
    review = review_of(admin_key, referral)

    shown = json_body(call("GET", REVIEW, key=admin_key, review_id=review["id"]))

    assert shown["review"]["id"] == review["id"]
    assert (shown["referral"]["id"], shown["referral"]["status"]) == (referral["id"], "in_review")
    assert shown["evidence"]["reasons"] == ["self_referral_email"]
    assert shown["evidence"]["findings"][0]["seen"]["email_domain"] == "gmail.com"
    assert [entry["action"] for entry in shown["audit"]] == ["referral.created"]
    assert (shown["rewards"], shown["held_signal"]) == ([], None)
    advocate = shown["advocate"]
    assert (advocate["code"], advocate["referrals"]) == (code, 2)
    assert {(r["id"], r["status"]) for r in advocate["recent_referrals"]} >= {(referral["id"], "in_review")}


def test_an_unknown_review_is_a_404(admin_key: str) -> None:
    response = call("GET", REVIEW, key=admin_key, review_id="rev_nothere")

    assert (response["statusCode"], json_body(response)["error"]["code"]) == (404, "not_found")


# ------------------------------------------------------------------------------------ deciding
def test_approval_replays_the_held_payment_once_and_the_referral_is_rewarded(
    stack: AwsStack, admin_key: str
) -> None:
    referral = flagged(create_campaign()["id"])
    for event_id in ("order-1", "order-2"):  # the second is not kept: one replay is enough
        assert qualify_via_api(referral["id"], event_id=event_id)["statusCode"] == 202
    run_qualify(stack)
    assert run_issue_reward(stack) == []
    review = review_of(admin_key, referral)

    response = decide(admin_key, review["id"], "approve")

    assert response["statusCode"] == 200
    decided = json_body(response)
    assert (decided["status"], decided["decision_reason"]) == ("approved", "checked with the customer")
    assert decided["decided_by"].startswith("api_key:key_")
    assert status_of(referral) == "pending"
    assert listed(admin_key)["items"] == []
    qualified = run_qualify(stack)
    assert [r["dynamodb"]["NewImage"]["redrive_of"]["S"] for r in qualified["records"]] == ["order-1"]
    assert run_issue_reward(stack) == [{"referral_id": referral["id"], "outcome": "issued"}]
    assert status_of(referral) == "rewarded"
    assert stack.stream_batch()["Records"] == []  # nothing replayed twice
    approved = [e for e in stack.items_of("audit") if e["action"] == "referral.approved"]
    assert [(e["actor"], e["from_status"], e["to_status"]) for e in approved] == [
        (f"admin:{decided['decided_by']}", "in_review", "pending")
    ]
    assert approved[0]["detail"]["reason"] == "checked with the customer"


@pytest.mark.parametrize("refund_first", [False, True], ids=["payment-then-refund", "refund-then-payment"])
def test_a_payment_refunded_during_the_review_is_never_paid_after_the_approval(
    stack: AwsStack, admin_key: str, refund_first: bool
) -> None:
    referral = flagged(create_campaign()["id"])
    payment = {"event_id": "inv_1", "occurred_at": "2026-12-01T10:00:00Z"}
    refund = {"reason": "refunded in full", "event_id": "inv_1", "occurred_at": "2026-12-02T10:00:00Z"}
    steps = [
        ("POST", "/v1/referrals/{referral_id}/qualify", payment),
        ("POST", "/v1/referrals/{referral_id}/reverse", refund),
    ]
    for method, path, body in reversed(steps) if refund_first else steps:
        assert call_route(method, path, body=body, referral_id=referral["id"])["statusCode"] == 202
        run_qualify(stack)
    assert status_of(referral) == "in_review"

    assert decide(admin_key, review_of(admin_key, referral)["id"], "approve")["statusCode"] == 200
    run_qualify(stack)  # the replayed payment meets the refund held on the referral

    assert status_of(referral) == "reversed"
    # Announced reversed, never qualified: the clawback finds nothing to take back
    assert run_issue_reward(stack) == [{"referral_id": referral["id"], "rewards": {}}]
    assert stack.items_of("reward") == []
    actions = [e["action"] for e in stack.items_of("audit") if e["referral_id"] == referral["id"]]
    assert "referral.reversal_held" in actions


def test_approved_without_a_payment_it_qualifies_when_the_payment_comes(
    stack: AwsStack, admin_key: str
) -> None:
    referral = flagged(create_campaign()["id"])
    assert decide(admin_key, review_of(admin_key, referral)["id"], "approve")["statusCode"] == 200
    assert stack.stream_batch()["Records"] == []

    assert qualify_via_api(referral["id"], event_id="order-1")["statusCode"] == 202
    run_qualify(stack)

    assert status_of(referral) == "qualified"


def test_a_rejected_referral_is_never_paid(stack: AwsStack, admin_key: str) -> None:
    referral = flagged(create_campaign()["id"])
    assert qualify_via_api(referral["id"], event_id="order-1")["statusCode"] == 202
    run_qualify(stack)

    response = decide(admin_key, review_of(admin_key, referral)["id"], "reject", "the advocate's own")

    assert json_body(response)["status"] == "rejected"
    assert status_of(referral) == "rejected"
    assert qualify_via_api(referral["id"], event_id="order-2")["statusCode"] == 202
    run_qualify(stack)
    assert run_issue_reward(stack) == []
    assert stack.items_of("reward") == []


def test_the_second_decision_is_a_409_and_writes_nothing(stack: AwsStack, admin_key: str) -> None:
    referral = flagged(create_campaign()["id"])
    review_id = review_of(admin_key, referral)["id"]
    assert decide(admin_key, review_id, "approve")["statusCode"] == 200
    stack.changes()

    response = decide(admin_key, review_id, "reject")

    assert (response["statusCode"], json_body(response)["error"]["code"]) == (409, "review_decided")
    assert stack.changes() == {}
    assert status_of(referral) == "pending"


def test_of_two_admins_deciding_at_once_one_wins(stack: AwsStack, admin_key: str) -> None:
    """Both read the item open; the store's transaction lets only the first decision through."""
    referral = flagged(create_campaign()["id"])
    store = wiring.reviews()._reviews  # the same store the admin function uses
    item = store.get(review_of(admin_key, referral)["id"])
    assert item is not None
    service = wiring.reviews()
    read, stale = store.get, iter([item, item])  # each decider's first read: the item open
    store.get = lambda review_id: next(stale, None) or read(review_id)  # type: ignore[method-assign]

    service.decide(item.id, Decision.APPROVE, reason="mine", operator="arn:aws:iam::1:user/ada")
    with pytest.raises(ReviewDecided):
        service.decide(item.id, Decision.REJECT, reason="no, mine", operator="arn:aws:iam::1:user/bob")

    assert status_of(referral) == "pending"
    decisions = [e["action"] for e in stack.items_of("audit") if e["referral_id"] == referral["id"]]
    assert decisions.count("referral.approved") == 1
    assert "referral.rejected" not in decisions


def test_a_decision_that_meets_another_admins_transaction_is_decided_again_not_a_500(
    stack: AwsStack, admin_key: str
) -> None:
    """DynamoDB cancels both of two transactions on one item at one moment (`TransactionConflict`), and
    botocore does not retry that: the other admin's decision lands meanwhile, and ours is then a 409."""
    referral = flagged(create_campaign()["id"])
    review_id = review_of(admin_key, referral)["id"]
    client = wiring.table().client
    conflicts: list[str] = []

    def conflict_once(**_: Any) -> None:
        if conflicts:
            return
        conflicts.append("TransactWriteItems")
        wiring.reviews().decide(review_id, Decision.REJECT, reason="mine", operator="arn:aws:iam::1:user/bob")
        raise ClientError(
            {
                "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
                "CancellationReasons": [{"Code": "TransactionConflict"}, {"Code": "None"}, {"Code": "None"}],
            },
            "TransactWriteItems",
        )

    client.meta.events.register("before-call.dynamodb.TransactWriteItems", conflict_once)
    try:
        response = decide(admin_key, review_id, "approve")
    finally:
        client.meta.events.unregister("before-call.dynamodb.TransactWriteItems", conflict_once)

    assert conflicts == ["TransactWriteItems"]
    assert response["statusCode"] == 409
    assert json_body(response)["error"]["code"] == "review_decided"
    assert status_of(referral) == "rejected"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (None, "body"),
        ({"reason": "   "}, "reason"),
        ({"reason": "x" * 501}, "reason"),
    ],
)
def test_a_decision_without_a_good_reason_is_a_422_and_writes_nothing(
    stack: AwsStack, admin_key: str, body: Any, field: str
) -> None:
    referral = flagged(create_campaign()["id"])
    review_id = review_of(admin_key, referral)["id"]
    stack.changes()

    response = call("POST", f"{REVIEW}/approve", key=admin_key, body=body, review_id=review_id)

    assert response["statusCode"] == 422
    assert json_body(response)["error"]["details"][0]["field"] == field
    assert stack.changes() == {}


def test_deciding_an_unknown_review_is_a_404(stack: AwsStack, admin_key: str) -> None:
    stack.changes()

    response = decide(admin_key, "rev_nothere", "reject")

    assert response["statusCode"] == 404
    assert stack.changes() == {}


def test_a_bulk_decision_answers_per_item(stack: AwsStack, admin_key: str) -> None:
    campaign = create_campaign()
    first, second = flagged(campaign["id"]), flagged(campaign["id"], "grace.hopper@gmail.com")
    first_id, second_id = review_of(admin_key, first)["id"], review_of(admin_key, second)["id"]
    assert decide(admin_key, second_id, "approve")["statusCode"] == 200

    response = call(
        "POST",
        f"{REVIEWS}/decisions",
        key=admin_key,
        body={"decision": "reject", "reason": "a ring", "review_ids": [first_id, "rev_nothere", second_id]},
    )

    assert response["statusCode"] == 200
    results = json_body(response)["results"]
    assert [(r["review_id"], r["status"]) for r in results] == [
        (first_id, 200),
        ("rev_nothere", 404),
        (second_id, 409),
    ]
    assert results[2]["error"]["code"] == "review_decided"
    assert (status_of(first), status_of(second)) == ("rejected", "pending")


def test_a_bulk_decision_of_more_than_25_is_a_422(stack: AwsStack, admin_key: str) -> None:
    ids = [f"rev_{n:03d}" for n in range(26)]

    response = call(
        "POST",
        f"{REVIEWS}/decisions",
        key=admin_key,
        body={"decision": "approve", "reason": "ok", "review_ids": ids},
    )

    assert response["statusCode"] == 422


# ------------------------------------------------------------------------------------ clawback items
def a_rewarded_referral(stack: AwsStack) -> dict[str, Any]:
    code = enrol(create_campaign()["id"])["code"]
    referral = sign_up(code, "grace@example.org")
    assert qualify_via_api(referral["id"], event_id="order-1")["statusCode"] == 202
    run_qualify(stack)
    run_issue_reward(stack)
    assert status_of(referral) == "rewarded"
    return referral


def reward_of(stack: AwsStack, referral: dict[str, Any], recipient: str) -> Reward:
    [reward] = [
        r
        for r in stack.items_of("reward")
        if r["referral_id"] == referral["id"] and r["recipient"] == recipient
    ]
    return parse(Reward, reward)


def test_a_clawback_item_opens_once_per_reward_and_an_approval_records_it_clawed_back(
    stack: AwsStack, admin_key: str
) -> None:
    referral = a_rewarded_referral(stack)
    stored = wiring.services().referral_store.get(referral["id"])
    assert stored is not None
    queue = wiring.services().review_store
    for _ in range(2):  # a retried clawback
        queue.open_clawback(stored, reward_of(stack, referral, "advocate"), "the provider cannot cancel it")
    queue.open_clawback(stored, reward_of(stack, referral, "friend"), "the provider cannot cancel it")

    items = listed(admin_key, kind="clawback")["items"]
    assert sorted(item["reward_recipient"] for item in items) == ["advocate", "friend"]
    assert {tuple(item["reasons"]) for item in items} == {("clawback_needed",)}
    advocate, friend = sorted(items, key=lambda item: str(item["reward_recipient"]))

    assert decide(admin_key, advocate["id"], "approve", "taken back by hand")["statusCode"] == 200
    assert decide(admin_key, friend["id"], "reject", "too small to chase")["statusCode"] == 200

    assert reward_of(stack, referral, "advocate").status is RewardStatus.CLAWED_BACK
    assert reward_of(stack, referral, "friend").status is RewardStatus.FULFILLED
    actions = [e["action"] for e in stack.items_of("audit") if e["referral_id"] == referral["id"]]
    assert actions.count("review.opened") == 2
    assert {"reward.clawed_back", "reward.clawback_waived"} <= set(actions)


# ------------------------------------------------------------------------------------ events
def review_events_capture() -> str:
    """A queue the bus sends the review queue's events to (no function of the template consumes them)."""
    sqs, bus = boto3.client("sqs"), boto3.client("events")
    url = sqs.create_queue(QueueName="review-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pattern = {"detail-type": ["referral.in_review", "referral.approved", "referral.rejected"]}
    bus.put_rule(Name="reviews", EventBusName=BUS, EventPattern=json.dumps(pattern))
    bus.put_targets(Rule="reviews", EventBusName=BUS, Targets=[{"Id": "capture", "Arn": arn}])
    return str(url)


def test_the_moves_into_and_out_of_review_go_on_the_bus_from_the_stream(
    stack: AwsStack, admin_key: str
) -> None:
    delivery = wire_event_delivery(stack.template)
    capture = review_events_capture()
    campaign = create_campaign()
    approved, rejected = flagged(campaign["id"]), flagged(campaign["id"], "grace.hopper@gmail.com")
    sign_up(enrol(campaign["id"], "alan@example.com")["code"], "linus@example.org")  # not flagged
    assert decide(admin_key, review_of(admin_key, approved)["id"], "approve")["statusCode"] == 200
    assert decide(admin_key, review_of(admin_key, rejected)["id"], "reject")["statusCode"] == 200

    batch = delivery.stream_batch()
    assert announce_referrals.handler(batch, LambdaContext("announce_referrals")) == {"batchItemFailures": []}

    events = [json.loads(m["Body"]) for m in receive_all(boto3.client("sqs"), capture)]
    moves = [(e["detail-type"], e["detail"]["referral_id"]) for e in events]
    assert sorted(moves) == sorted(
        [
            ("referral.in_review", approved["id"]),
            ("referral.in_review", rejected["id"]),
            ("referral.approved", approved["id"]),
            ("referral.rejected", rejected["id"]),
        ]
    )
    in_review = next(e["detail"] for e in events if e["detail-type"] == "referral.in_review")
    assert in_review["reasons"] == ["self_referral_email"]
    assert in_review["review_id"].startswith("rev_")
    assert len(delivery.bus_events()) == 3  # referral.created, once per referral


def test_the_schedule_measures_the_oldest_open_item(
    stack: AwsStack, admin_key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert review_queue_age.handler({}, LambdaContext("review_queue_age")) == {"oldest_age_seconds": 0.0}
    referral = flagged(create_campaign()["id"])
    capsys.readouterr()

    measured = review_queue_age.handler({}, LambdaContext("review_queue_age"))["oldest_age_seconds"]

    assert 0 < measured < 60
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert [line[review_queue_age.METRIC] for line in emf] == [[measured]]
    assert decide(admin_key, review_of(admin_key, referral)["id"], "reject")["statusCode"] == 200
    assert review_queue_age.handler({}, LambdaContext("review_queue_age")) == {"oldest_age_seconds": 0.0}
