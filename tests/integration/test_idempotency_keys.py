"""`Idempotency-Key` on the API's POSTs, through the real handler: a retry gets the first answer."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from referral_engine import wiring
from support.aws import AwsStack
from support.events import json_body
from support.journey import CAMPAIGN, call_api, create_campaign, enrol

KEY = {"idempotency-key": "3f1c8a52-5d0e-4a4e-9f07-1b2d7c9e6a10"}
OTHER_API_KEY = "rk_other-client-0123456789abcdefghijklmnopq"


def idempotency_records(stack: AwsStack) -> list[dict[str, Any]]:
    return [item for item in stack.items() if item["pk"] == "IDEMPOTENCY"]


def post_campaign(headers: dict[str, str] = KEY, **overrides: Any) -> dict[str, Any]:
    return call_api("create_campaign", body={**CAMPAIGN, **overrides}, headers=headers)


def new_campaign() -> tuple[str, dict[str, Any]]:
    return "create_campaign", {"body": CAMPAIGN}


def new_advocate() -> tuple[str, dict[str, Any]]:
    campaign_id = create_campaign()["id"]
    return "enrol_advocate", {
        "path_parameters": {"campaign_id": campaign_id},
        "body": {"email": "ada@example.com"},
    }


def new_referral() -> tuple[str, dict[str, Any]]:
    code = enrol(create_campaign()["id"])["code"]
    return "sign_up", {"body": {"code": code, "email": "grace@example.org"}}


@pytest.mark.parametrize(
    ("prepare", "entity"),
    [(new_campaign, "campaign"), (new_advocate, "participant"), (new_referral, "referral")],
)
def test_a_retry_with_the_same_key_gets_the_first_answer_and_writes_once(
    stack: AwsStack, prepare: Callable[[], tuple[str, dict[str, Any]]], entity: str
) -> None:
    sample, request = prepare()
    before = len(stack.items_of(entity))

    first = call_api(sample, headers=KEY, **request)
    retry = call_api(sample, headers=KEY, **request)

    assert first["statusCode"] == retry["statusCode"] == 201  # a second enrolment or sign-up would be 200
    assert json_body(retry) == json_body(first)
    assert retry["headers"]["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first["headers"]
    assert len(stack.items_of(entity)) == before + 1


def test_the_same_key_with_another_body_or_route_is_a_422_and_writes_nothing(stack: AwsStack) -> None:
    assert post_campaign()["statusCode"] == 201
    campaign_id = create_campaign()["id"]
    before = stack.items()

    other_body = post_campaign(name="Another campaign")
    other_route = call_api(
        "enrol_advocate",
        path_parameters={"campaign_id": campaign_id},
        body={"email": "ada@example.com"},
        headers=KEY,
    )

    for response in (other_body, other_route):
        assert response["statusCode"] == 422
        assert json_body(response)["error"]["code"] == "idempotency_key_reused"
    assert stack.items() == before


def test_a_retry_while_the_first_request_runs_is_a_409_and_then_gets_the_first_answer(
    stack: AwsStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = wiring.campaigns()
    create = service.create
    retries: list[dict[str, Any]] = []

    def create_while_the_client_retries(request: Any) -> Any:
        retries.append(post_campaign())
        return create(request)

    monkeypatch.setattr(service, "create", create_while_the_client_retries)
    first = post_campaign()
    monkeypatch.undo()

    (during,) = retries
    assert during["statusCode"] == 409
    assert json_body(during)["error"]["code"] == "idempotency_key_in_progress"
    after = post_campaign()
    assert (first["statusCode"], after["statusCode"]) == (201, 201)
    assert json_body(after) == json_body(first)
    assert len(stack.items_of("campaign")) == 1


def test_two_clients_with_the_same_key_do_not_collide(stack: AwsStack) -> None:
    wiring.api_keys().create("other client", OTHER_API_KEY)

    ours = post_campaign()
    theirs = post_campaign(headers={**KEY, "authorization": f"Bearer {OTHER_API_KEY}"})

    assert (ours["statusCode"], theirs["statusCode"]) == (201, 201)
    assert "Idempotent-Replayed" not in theirs["headers"]
    assert json_body(theirs)["id"] != json_body(ours)["id"]
    assert len(stack.items_of("campaign")) == 2


def test_a_refusal_is_kept_and_replayed_like_a_success(stack: AwsStack) -> None:
    unknown = {"path_parameters": {"campaign_id": "cmp_nope"}, "body": {"email": "ada@example.com"}}

    first = call_api("enrol_advocate", headers=KEY, **unknown)
    retry = call_api("enrol_advocate", headers=KEY, **unknown)

    assert first["statusCode"] == retry["statusCode"] == 404
    assert json_body(retry) == json_body(first)
    assert retry["headers"]["Idempotent-Replayed"] == "true"


def test_a_crash_keeps_nothing_so_the_retry_runs_again(
    stack: AwsStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unavailable(request: Any) -> Any:
        raise RuntimeError("the table is unavailable")

    monkeypatch.setattr(wiring.campaigns(), "create", unavailable)
    with pytest.raises(RuntimeError):
        post_campaign()
    monkeypatch.undo()

    assert idempotency_records(stack) == []
    retry = post_campaign()
    assert retry["statusCode"] == 201
    assert "Idempotent-Replayed" not in retry["headers"]
    assert len(stack.items_of("campaign")) == 1


def test_answers_are_kept_24_hours_by_the_tables_ttl(stack: AwsStack) -> None:
    post_campaign()

    (record,) = idempotency_records(stack)
    ttl = stack.template["Resources"]["ReferralsTable"]["Properties"]["TimeToLiveSpecification"]
    assert int(record[ttl["AttributeName"]]) == pytest.approx(time.time() + 24 * 3600, abs=60)
    assert "entity" not in record  # so no stream filter passes it on to qualify or deliver_hooks


@pytest.mark.parametrize("key", ["", "   ", "k" * 256])
def test_an_empty_or_too_long_key_is_a_400_and_writes_nothing(stack: AwsStack, key: str) -> None:
    before = stack.items()
    response = post_campaign(headers={"idempotency-key": key})

    assert response["statusCode"] == 400
    assert json_body(response)["error"]["code"] == "invalid_idempotency_key"
    assert stack.items() == before


def test_a_key_of_255_characters_is_accepted(stack: AwsStack) -> None:
    assert post_campaign(headers={"idempotency-key": "k" * 255})["statusCode"] == 201


def test_a_post_without_the_header_runs_every_time_and_keeps_nothing(stack: AwsStack) -> None:
    first, second = post_campaign(headers={}), post_campaign(headers={})

    assert (first["statusCode"], second["statusCode"]) == (201, 201)
    assert json_body(first)["id"] != json_body(second)["id"]
    assert idempotency_records(stack) == []


def test_a_refused_api_key_leaves_no_record(stack: AwsStack) -> None:
    response = post_campaign(headers={**KEY, "authorization": "Bearer rk_wrong"})

    assert response["statusCode"] == 401
    assert idempotency_records(stack) == []


def test_the_api_functions_policy_allows_every_call_the_records_make(
    stack: AwsStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    from referral_engine.adapters import aws

    operations: set[str] = set()

    def record(event_name: str, params: dict[str, Any], **_: Any) -> None:
        if params.get("Key", params.get("Item", {})).get("pk") == {"S": "IDEMPOTENCY"}:
            operations.add(f"dynamodb:{event_name.rsplit('.', 1)[-1]}")

    aws.dynamodb().meta.events.register("provide-client-params.dynamodb", record)
    try:
        monkeypatch.setattr(wiring.campaigns(), "create", lambda request: 1 / 0)
        with pytest.raises(ZeroDivisionError):
            post_campaign()  # the record is deleted again
        monkeypatch.undo()
        post_campaign()
        post_campaign()  # replayed
        post_campaign(name="Another campaign")  # refused
    finally:
        aws.dynamodb().meta.events.unregister("provide-client-params.dynamodb", record)

    statements = stack.template["Resources"]["ApiFunction"]["Properties"]["Policies"][0]["Statement"]
    allowed = {action for statement in statements for action in statement["Action"]}
    assert {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"} <= operations
    assert operations <= allowed


def test_the_api_loads_the_idempotency_utility_only_for_a_request_with_the_key() -> None:
    root = Path(__file__).resolve().parents[2]
    code = "import sys, api\nprint([m for m in sys.modules if m.startswith(sys.argv[1])])"
    path = os.pathsep.join(str(root / part) for part in ("layers/common", "functions/api"))
    result = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code, "aws_lambda_powertools.utilities.idempotency"],
        env={**os.environ, "PYTHONPATH": path, "TABLE_NAME": "cold-start"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "[]"  # ~20 ms of cold start saved for every POST without the header


def test_on_iam_signed_routes_the_key_belongs_to_the_principal(stack: AwsStack) -> None:
    """As the admin routes run on AWS: no API key, the caller is the SigV4 signer."""
    from aws_lambda_powertools import Logger

    from referral_engine.web.idempotency import honour_idempotency_keys
    from referral_engine.web.resolver import new_resolver
    from support.events import LambdaContext, http_event

    app = new_resolver(Logger())
    app.use(middlewares=[honour_idempotency_keys(wiring.idempotency_records)])
    runs: list[str] = []

    @app.post("/v1/campaigns")
    def run() -> dict[str, Any]:
        runs.append(app.current_event.request_context.authorizer.iam.user_arn)
        return {"run": len(runs)}

    def signed_by(role: str) -> dict[str, Any]:
        event = http_event("api/create_campaign", body=CAMPAIGN, headers=KEY, drop_headers=("authorization",))
        event["requestContext"]["authorizer"] = {
            "iam": {"userArn": f"arn:aws:sts::123456789012:assumed-role/{role}/cli"}
        }
        return app.resolve(event, LambdaContext())

    first, again, other = signed_by("Admin"), signed_by("Admin"), signed_by("Operator")

    assert json_body(again) == json_body(first) == {"run": 1}
    assert again["headers"]["Idempotent-Replayed"] == "true"
    assert json_body(other) == {"run": 2}
