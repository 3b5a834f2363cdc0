"""Fuzzing every operation of docs/openapi.json in process (schemathesis' cases, positive and negative),
one at a time and in sequences that follow the document's links (create a campaign, then enrol an
advocate in it, follow their link, sign a friend up, qualify them...): whatever is sent, the answer is
never a 5xx, a 4xx carries our error object, and a refused call writes nothing.

Bounded and deterministic for `make test`: a few derandomized examples per operation, a few short
sequences, no example database, and no shrinking (a failure is reported as found). One stack for the
module. What it found: docs/adr/0015.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from functools import cache
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core.result import Ok
from schemathesis.core.transport import Response

import admin
import api
import inbound_webhook
import track_click
from support.aws import API_KEY, FAILURE_QUEUES, AwsStack
from support.events import LambdaContext, http_event
from support.journey import CAMPAIGN, create_campaign, create_connection, enrol, hook_id_of, sign_up

DOCUMENT = "docs/openapi.json"
# Refusals before the route runs: nothing at all is written. A refusal by the route itself (no such
# campaign, a rule of the service) is kept as the answer to an Idempotency-Key's retry (ADR 0007).
REFUSED_BEFORE_THE_ROUTE = {
    "unauthorized",
    "forbidden",
    "validation_error",
    "invalid_json",
    "invalid_body",
    "payload_too_large",
    "unsupported_media_type",
    "invalid_idempotency_key",
}
EXAMPLES_PER_OPERATION = 6
SEQUENCES, STEPS_PER_SEQUENCE = 10, 8
# Valid bodies for these operations' positive cases (their negative ones are sent as generated): a
# generated campaign is almost never valid (a public landing host, an ISO currency, amounts of two
# decimals...), and most links start there. Decided by the case alone, so that a replay is the same.
SEEDS: dict[str, dict[str, Any]] = {
    "POST /v1/campaigns": CAMPAIGN,
    "POST /v1/campaigns/{campaign_id}/advocates": {"email": "ada@example.com", "name": "Ada"},
    "POST /v1/campaigns/{campaign_id}/connections": {"source": "zapier"},
}
SCHEMA = schemathesis.openapi.from_path(DOCUMENT)


def operations() -> dict[str, Any]:
    """Each operation of the document by its label (`POST /v1/campaigns`); an invalid one fails here."""
    found = {}
    for result in SCHEMA.get_all_operations():
        assert isinstance(result, Ok), result.err()
        found[result.ok().label] = result.ok()
    return found


OPERATIONS = operations()
FUZZ = settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=(Phase.explicit, Phase.generate),  # a failure is reported as found, without shrinking
)


def handler_of(path: str) -> Any:
    if path.startswith("/v1/admin"):
        return admin.handler
    if path.startswith("/hooks/"):
        return inbound_webhook.handler
    if path.startswith("/r/"):
        return track_click.handler
    return api.handler


def is_text(body: bytes) -> bool:
    try:
        body.decode()
    except UnicodeDecodeError:
        return False
    return True


def as_event(case: Any, key: str) -> dict[str, Any]:
    """The case as API Gateway (HTTP API, payload v2) would hand it to the function."""
    body: Any = None
    binary = False  # API Gateway base64-encodes a body that is not text
    headers = {name: str(value) for name, value in (case.headers or {}).items()}
    if case.media_type is not None and not isinstance(case.body, schemathesis.core.NotSet):
        headers["content-type"] = case.media_type
        if isinstance(case.body, bytes | str):
            body = case.body
            binary = isinstance(body, bytes) and not is_text(body)
        elif case.media_type == "application/x-www-form-urlencoded" and isinstance(case.body, dict):
            body = urlencode(case.body, doseq=True)
        else:
            body = json.dumps(case.body)
    path_parameters = {name: str(value) for name, value in (case.path_parameters or {}).items()}
    event = http_event(
        "api/get_campaign",
        path=case.formatted_path,
        path_parameters=path_parameters,
        query=urlencode(case.query or {}, doseq=True),
        body=body,
        headers={**headers, "authorization": f"Bearer {key}"},
        drop_headers=("content-type",),
        base64_body=binary,
    )
    event["routeKey"] = event["requestContext"]["routeKey"] = f"{case.method.upper()} {case.path}"
    event["requestContext"]["http"]["method"] = case.method.upper()
    return event


def assert_answer_holds(response: dict[str, Any], stack: AwsStack) -> None:
    """No 5xx; a 4xx is our error object and leaves the table as it was, but for the Idempotency-Key
    record a refusal by the route itself keeps for its retry."""
    status = response["statusCode"]
    assert status < 500, response
    changes = stack.changes()
    if status >= 400:
        code = "not_found"  # a HEAD's refusal has no body
        if response.get("body"):
            error = json.loads(response["body"])["error"]
            assert isinstance(error["message"], str), response
            code = error["code"]
            assert isinstance(code, str), response
        if code not in REFUSED_BEFORE_THE_ROUTE:
            changes = {key: change for key, change in changes.items() if key[0] != "IDEMPOTENCY"}
        assert changes == {}, f"a refused call ({status}) changed the table"


@pytest.fixture(scope="module")
def stack(module_stack: AwsStack) -> Iterator[AwsStack]:
    """One stack for the module: a refused call leaves it unchanged (asserted), an accepted one only
    adds. The admin function's failure queues exist, and its queue reads do not long-poll (moto answers
    an empty receive at once; a long poll would wait for real)."""
    from referral_engine import settings, wiring
    from referral_engine.adapters import aws as aws_clients

    with pytest.MonkeyPatch.context() as monkeypatch:
        for variable, name in FAILURE_QUEUES.items():
            monkeypatch.setenv(variable, module_stack.sqs.create_queue(QueueName=name)["QueueUrl"])
        settings.get_settings.cache_clear()
        services = cache(
            lambda: wiring.Services(settings.get_settings(), aws_clients.client, queue_wait_seconds=0)
        )
        monkeypatch.setattr(wiring, "services", services)
        yield module_stack


@pytest.fixture
def known_ids(stack: AwsStack) -> dict[str, str]:
    """Ids that exist, made afresh for each operation (an earlier one may have deleted the last ones),
    so that some cases get past the 404 into the handlers' reading of the body; an admin key."""
    from referral_engine import wiring

    campaign = create_campaign()
    advocate = enrol(campaign["id"])
    referral = sign_up(advocate["code"])
    connection = create_connection(campaign["id"], source="zapier")
    return {
        "campaign_id": campaign["id"],
        "referral_id": referral["id"],
        "connection_id": connection["id"],
        "code": advocate["code"],
        "hook_id": hook_id_of(campaign),
        "admin_key": wiring.api_keys().create("fuzz-admin", scope="admin").secret,
    }


@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_no_input_is_a_5xx_or_writes_on_refusal(
    stack: AwsStack, known_ids: dict[str, str], label: str
) -> None:
    operation = OPERATIONS[label]
    known = {p.name: known_ids[p.name] for p in operation.path_parameters if p.name in known_ids}
    strategies = [operation.as_strategy(generation_mode=mode) for mode in GenerationMode]
    if known:
        strategies.append(operation.as_strategy(path_parameters=known))
    key = known_ids["admin_key"] if operation.path.startswith("/v1/admin") else API_KEY
    handler = handler_of(operation.path)

    @FUZZ
    @given(case=st.one_of(strategies))
    def holds(case: Any) -> None:
        stack.changes()
        response = handler(as_event(case, key), LambdaContext())
        assert_answer_holds(response, stack)

    holds()


def as_response(answer: dict[str, Any], case: Any) -> Response:
    """A function's answer as schemathesis reads a response (to follow the links from it)."""
    body = answer.get("body") or ""
    content = base64.b64decode(body) if answer.get("isBase64Encoded") else body.encode()
    headers = {name.lower(): [str(value)] for name, value in (answer.get("headers") or {}).items()}
    request = requests.Request(case.method, f"http://127.0.0.1{case.formatted_path}").prepare()
    return Response(answer["statusCode"], headers, content, request, elapsed=0.0, verify=False)


def test_sequences_along_the_documents_links_hold_at_every_step(
    stack: AwsStack, known_ids: dict[str, str]
) -> None:
    answers: dict[str, dict[str, Any]] = {}  # by case id, until validated

    class Sequences(SCHEMA.as_state_machine()):  # type: ignore[misc]
        def call(self, case: Any, **kwargs: Any) -> Response:
            stack.changes()
            if case.operation.label in SEEDS and case.meta.generation.mode is GenerationMode.POSITIVE:
                case.body, case.media_type = dict(SEEDS[case.operation.label]), "application/json"
            key = known_ids["admin_key"] if case.path.startswith("/v1/admin") else API_KEY
            answer = handler_of(case.path)(as_event(case, key), LambdaContext())
            answers[case.id] = answer
            return as_response(answer, case)

        def validate_response(self, response: Response, case: Any, *args: Any, **kwargs: Any) -> None:
            assert_answer_holds(answers.pop(case.id), stack)

    Sequences.run(settings=settings(FUZZ, max_examples=SEQUENCES, stateful_step_count=STEPS_PER_SEQUENCE))
