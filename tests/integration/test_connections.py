"""Connections: created per campaign with a secret kept out of the table, never echoed back; a vendor
call must prove it knows the secret, and then its signals flow into the pipeline like any other."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from referral_engine import wiring
from referral_engine.adapters.dynamodb.connections import DynamoConnectionStore
from referral_engine.services.webhooks import SecretMissing
from support.aws import AwsStack
from support.events import json_body
from support.journey import (
    call_route,
    create_campaign,
    create_connection,
    enrol,
    generic_hook,
    get_referral,
    hook_id_of,
    post_connection,
    run_issue_reward,
    run_qualify,
    sign_up,
    vendor_hook,
)


def secret_names() -> list[str]:
    parameters = boto3.client("ssm").describe_parameters()["Parameters"]
    return [parameter["Name"] for parameter in parameters]


def wiring_store() -> DynamoConnectionStore:
    return DynamoConnectionStore(wiring.table())


def secret_parameter(connection_id: str) -> str:
    ssm = boto3.client("ssm")
    name = f"/referral-engine/connections/{connection_id}"
    return str(ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"])


def test_a_connection_keeps_its_secret_out_of_the_table_and_out_of_answers(stack: AwsStack) -> None:
    campaign = create_campaign()
    created = create_connection(campaign["id"], source="zapier")

    assert created["hook_url"].startswith(
        "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/hooks/zapier/"
    )
    generated = created["secret"]  # shown once
    assert len(generated) >= 32
    assert secret_parameter(created["id"]) == generated
    assert generated not in json.dumps(stack.items(), default=str)
    shown = json_body(call_route("GET", "/v1/connections/{connection_id}", connection_id=created["id"]))
    listed = json_body(
        call_route("GET", "/v1/campaigns/{campaign_id}/connections", campaign_id=campaign["id"])
    )
    assert "secret" not in shown
    assert [c["id"] for c in listed["items"]] == [created["id"]]
    assert generated not in json.dumps([shown, listed])


def test_a_vendor_issued_secret_is_stored_and_not_shown(stack: AwsStack) -> None:
    created = create_connection(create_campaign()["id"], source="make", secret="make-shared-secret-123")
    assert "secret" not in created
    assert secret_parameter(created["id"]) == "make-shared-secret-123"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"source": "myspace"}, 422),
        ({"source": "zapier", "milestone": {"stage": "won"}}, 400),
        ({"source": "zapier", "secret": "short"}, 422),
    ],
)
def test_bad_connections_are_refused_and_write_nothing(
    stack: AwsStack, body: dict[str, Any], status: int
) -> None:
    campaign = create_campaign()
    before = stack.items()
    response = post_connection(campaign["id"], body)
    assert response["statusCode"] == status
    assert stack.items() == before


def rotate(connection_id: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    return call_route(
        "POST", "/v1/connections/{connection_id}/rotate-secret", body or {}, connection_id=connection_id
    )


def test_rotating_the_secret_locks_out_the_old_one_at_once(stack: AwsStack) -> None:
    campaign = create_campaign()
    referral = sign_up(enrol(campaign["id"])["code"])
    connection = create_connection(campaign["id"], source="zapier")
    hook, code = connection["hook_url"], referral["referral_code"]
    before = vendor_hook(
        hook,
        json.dumps({"event_id": "zap-0", "referral_code": code}),
        {"x-referrals-secret": connection["secret"]},
    )
    assert before["statusCode"] == 200  # the old secret is now in this container's cache

    rotated = json_body(rotate(connection["id"]))
    body = json.dumps({"event_id": "zap-1", "referral_code": code})
    old = vendor_hook(hook, body, {"x-referrals-secret": connection["secret"]})
    new = vendor_hook(hook, body, {"x-referrals-secret": rotated["secret"]})

    assert (old["statusCode"], new["statusCode"]) == (401, 200)
    assert rotated["secret"] != connection["secret"]
    assert rotated["secret_rotated_at"] > connection["secret_rotated_at"]


@pytest.mark.parametrize(
    ("source", "milestone"),
    [
        ("stripe", {"events": ["invoice.paid"]}),
        ("hubspot", {"object": "contact", "property": "lifecyclestage", "value": "customer"}),
        ("intercom", {"tag": "customer"}),
    ],
)
def test_a_vendor_issued_secret_must_be_given_and_nothing_is_written_without_it(
    stack: AwsStack, source: str, milestone: dict[str, Any]
) -> None:
    campaign = create_campaign()
    before = stack.items()

    response = post_connection(campaign["id"], {"source": source, "milestone": milestone})

    assert response["statusCode"] == 400
    assert "secret" in json_body(response)["error"]["message"]
    assert stack.items() == before
    assert secret_names() == []
    connection = create_connection(campaign["id"], source=source, milestone=milestone, secret="whsec_given-1")
    assert rotate(connection["id"])["statusCode"] == 400  # nor can a rotation make one up
    assert secret_parameter(connection["id"]) == "whsec_given-1"


def test_a_connection_deleted_while_its_secret_rotates_stays_deleted(
    stack: AwsStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    connection = create_connection(create_campaign()["id"], source="zapier")
    read_before_the_delete = DynamoConnectionStore.get(wiring_store(), connection["id"])
    assert (
        call_route("DELETE", "/v1/connections/{connection_id}", connection_id=connection["id"])["statusCode"]
        == 204
    )
    real_get = DynamoConnectionStore.get
    reads = iter([read_before_the_delete])  # the rotation's first read is from before the delete
    monkeypatch.setattr(
        DynamoConnectionStore, "get", lambda self, cid: next(reads, None) or real_get(self, cid)
    )

    response = rotate(connection["id"])

    assert response["statusCode"] == 404
    assert stack.items_of("connection") == []
    assert secret_names() == []


def test_of_two_racing_rotations_the_loser_is_told_and_the_winner_s_secret_stands(
    stack: AwsStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    campaign = create_campaign()
    referral = sign_up(enrol(campaign["id"])["code"])
    connection = create_connection(campaign["id"], source="zapier")
    read_before_the_winner = DynamoConnectionStore.get(wiring_store(), connection["id"])
    winner = json_body(rotate(connection["id"]))
    monkeypatch.setattr(DynamoConnectionStore, "get", lambda self, _: read_before_the_winner)

    loser = rotate(connection["id"])
    monkeypatch.undo()

    assert loser["statusCode"] == 409
    assert json_body(loser)["error"]["code"] == "conflict"
    body = json.dumps({"event_id": "zap-1", "referral_code": referral["referral_code"]})
    hook = connection["hook_url"]
    assert vendor_hook(hook, body, {"x-referrals-secret": winner["secret"]})["statusCode"] == 200


def test_an_unreadable_secret_fails_the_call_for_a_retry_and_the_log_says_why(
    stack: AwsStack, caplog: pytest.LogCaptureFixture
) -> None:
    connection = create_connection(create_campaign()["id"], source="zapier")
    boto3.client("ssm").delete_parameter(Name=secret_names()[0])
    body = json.dumps({"event_id": "zap-1", "email": "grace@example.org"})

    with pytest.raises(SecretMissing):  # Lambda's error: API Gateway answers 500, the vendor retries
        vendor_hook(connection["hook_url"], body, {"x-referrals-secret": connection["secret"]})

    [logged] = [r for r in caplog.records if r.getMessage() == "connection secret unreadable"]
    assert (logged.connection_id, logged.cause) == (connection["id"], "ParameterNotFound")  # type: ignore[attr-defined]
    assert connection["secret"] not in caplog.text
    assert stack.items_of("signal") == []


def test_a_connection_that_could_not_be_stored_leaves_no_secret_behind(
    stack: AwsStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unavailable(self: DynamoConnectionStore, connection: Any) -> None:
        raise RuntimeError("the table is unavailable")

    monkeypatch.setattr(DynamoConnectionStore, "add", unavailable)

    campaign_id = create_campaign()["id"]

    with pytest.raises(RuntimeError, match="unavailable"):  # Lambda's error: API Gateway answers 500
        post_connection(campaign_id, {"source": "make"})

    assert secret_names() == []


def test_deleting_a_connection_disables_its_hook_and_secret(stack: AwsStack) -> None:
    connection = create_connection(create_campaign()["id"], source="zapier")
    deleted = call_route("DELETE", "/v1/connections/{connection_id}", connection_id=connection["id"])

    assert deleted["statusCode"] == 204
    response = vendor_hook(connection["hook_url"], "{}", {"x-referrals-secret": connection["secret"]})
    assert response["statusCode"] == 404
    with pytest.raises(Exception, match="ParameterNotFound"):
        secret_parameter(connection["id"])


def test_a_zapier_call_qualifies_the_referral_once(stack: AwsStack) -> None:
    campaign = create_campaign()
    referral = sign_up(enrol(campaign["id"])["code"])
    connection = create_connection(campaign["id"], source="zapier")
    body = json.dumps(
        {"event_id": "zap-invoice-1", "referral_code": referral["referral_code"], "amount": "79.00"}
    )
    headers = {"x-referrals-secret": connection["secret"]}

    first = vendor_hook(connection["hook_url"], body, headers)
    replay = vendor_hook(connection["hook_url"], body, headers)
    run_qualify(stack)
    run_issue_reward(stack)

    assert (first["statusCode"], replay["statusCode"]) == (200, 200)
    assert len(stack.items_of("signal")) == 1
    assert json_body(get_referral(referral["id"]))["status"] == "rewarded"


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 401), ({"x-referrals-secret": "wrong-secret-value"}, 401), ({"authorization": "Bearer nope"}, 401)],
)
def test_forged_calls_are_refused_and_write_nothing(
    stack: AwsStack, headers: dict[str, str], status: int
) -> None:
    campaign = create_campaign()
    referral = sign_up(enrol(campaign["id"])["code"])
    connection = create_connection(campaign["id"], source="zapier")
    before = stack.items()
    body = json.dumps({"event_id": "zap-1", "referral_code": referral["referral_code"]})

    response = vendor_hook(connection["hook_url"], body, headers)

    assert response["statusCode"] == status
    assert json_body(response)["error"]["code"] == "signature_invalid"
    assert stack.items() == before


def test_a_connection_hook_is_not_a_generic_hook(stack: AwsStack) -> None:
    """The generic webhook needs no signature: a connection's hook id must not open it."""
    campaign = create_campaign()
    referral = sign_up(enrol(campaign["id"])["code"])
    connection = create_connection(campaign["id"], source="zapier")
    hook_id = connection["hook_url"].rsplit("/", 1)[1]
    assert generic_hook(hook_id, {"code": referral["referral_code"]})["statusCode"] == 404
    assert generic_hook(hook_id_of(campaign), {"code": referral["referral_code"]})["statusCode"] == 202


def test_a_malformed_but_authentic_call_is_a_400_that_writes_nothing(stack: AwsStack) -> None:
    connection = create_connection(create_campaign()["id"], source="make")
    before = stack.items()
    response = vendor_hook(connection["hook_url"], "{not json", {"x-referrals-secret": connection["secret"]})
    assert response["statusCode"] == 400
    assert json_body(response)["error"]["code"] == "malformed_payload"
    assert stack.items() == before


def test_a_vendor_can_check_the_hook_url_before_saving_it(stack: AwsStack) -> None:
    from inbound_webhook import handler
    from support.events import LambdaContext, http_event

    connection = create_connection(
        create_campaign()["id"],
        source="intercom",
        secret="intercom-client-secret",
        milestone={"tag": "customer"},
    )
    hook_id = connection["hook_url"].rsplit("/", 1)[1]
    event = http_event(
        "inbound_webhook/vendor_zapier", path_parameters={"source": "intercom", "hook_id": hook_id}
    )
    event["requestContext"]["http"]["method"] = "HEAD"
    event["routeKey"] = "HEAD /hooks/{source}/{hook_id}"
    event.pop("body")

    assert handler(event, LambdaContext())["statusCode"] == 200
