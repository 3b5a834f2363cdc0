"""The hand-made dispatch (web/routes.py): answers as Powertools' resolver did, without loading it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from referral_engine.domain.errors import NotFound
from referral_engine.domain.webhooks import WebhookRefused
from referral_engine.observability import logger
from referral_engine.services.signals import GenericHookRequest
from referral_engine.web.routes import Answer, Request, Route, answer, dispatch, parse_fields
from support.events import http_event

HOOK = "Q9fXw2LmN5pK7wZs1cDfXq3v"


def _echo(request: Request, **parameters: str) -> Answer:
    return answer(200, json.dumps({"method": request.method, **parameters}))


def _refuse(request: Request, **parameters: str) -> Answer:
    raise WebhookRefused("the signature does not match")


def _missing(request: Request, **parameters: str) -> Answer:
    raise NotFound("no such webhook")


def _reads_the_body(request: Request, **parameters: str) -> Answer:
    return answer(200, request.text())


def _parses_the_query(request: Request, **parameters: str) -> Answer:
    parse_fields(GenericHookRequest, request.query, "query")
    return answer(200, "{}")


ROUTES = [
    Route("GET", "/hooks/generic/{hook_id}", _parses_the_query, summary="generic"),
    Route("POST", "/hooks/generic/{hook_id}", _reads_the_body, summary="generic"),
    Route("POST", "/hooks/{source}/{hook_id}", _refuse, summary="vendor"),
    Route("HEAD", "/hooks/{source}/{hook_id}", _echo, summary="check"),
    Route("DELETE", "/hooks/{source}/{hook_id}", _missing, summary="missing"),
]


def _dispatched(method: str, path: str, **changes: Any) -> tuple[int, dict[str, str], Any]:
    event = http_event("inbound_webhook/vendor_zapier", path=path, **changes)
    event["requestContext"]["http"]["method"] = method
    answered = dispatch(ROUTES, event, logger)
    body = json.loads(answered["body"]) if answered["body"] else None
    return answered["statusCode"], answered["headers"], body


def test_the_first_route_of_the_method_whose_path_matches_answers_with_its_parameters() -> None:
    status, headers, body = _dispatched("HEAD", f"/hooks/stripe/{HOOK}")

    assert status == 200
    assert body == {"method": "HEAD", "source": "stripe", "hook_id": HOOK}
    assert headers == {"Content-Type": "application/json", "Request-Id": "CZyU0jzCoAMEVhQ="}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"/hooks/stripe/{HOOK}"),  # a path routed for other methods: 404, as the resolver answered
        ("PUT", f"/hooks/generic/{HOOK}"),
        ("POST", f"/hooks/stripe/{HOOK}/"),
        ("POST", f"/hooks/stripe/{HOOK}/more"),
        ("POST", "/hooks/stripe/a\\b"),
        ("GET", "/"),
    ],
)
def test_anything_else_is_no_such_route(method: str, path: str) -> None:
    status, _, body = _dispatched(method, path)

    assert status == 404
    assert body["error"]["code"] == "not_found"
    assert body["error"]["message"] == "no such route"
    assert body["error"]["request_id"] == "CZyU0jzCoAMEVhQ="


def test_a_named_stage_is_not_part_of_the_path() -> None:
    event = http_event("inbound_webhook/vendor_zapier", path=f"/live/hooks/stripe/{HOOK}")
    event["requestContext"].update(stage="live", http={**event["requestContext"]["http"], "method": "HEAD"})

    assert dispatch(ROUTES, event, logger)["statusCode"] == 200


def test_domain_errors_are_their_4xx_answer() -> None:
    refused = _dispatched("POST", f"/hooks/stripe/{HOOK}")
    missing = _dispatched("DELETE", f"/hooks/stripe/{HOOK}")

    assert (refused[0], refused[1]["WWW-Authenticate"], refused[2]["error"]["code"]) == (
        401,
        "Bearer",
        "signature_invalid",
    )
    assert (missing[0], missing[2]["error"]["code"]) == (404, "not_found")
    assert "WWW-Authenticate" not in missing[1]


def test_a_refused_field_is_a_422_naming_it_without_its_value() -> None:
    status, _, body = _dispatched("GET", f"/hooks/generic/{HOOK}", query={"amount": "lots-of-money"})

    assert status == 422
    assert body["error"]["code"] == "validation_error"
    [detail] = body["error"]["details"]
    assert detail["field"] == "query.amount"
    assert "lots-of-money" not in json.dumps(body)


def test_a_body_that_is_not_utf8_is_a_400() -> None:
    status, _, body = _dispatched("POST", f"/hooks/generic/{HOOK}", body=b"\xff\xfe", base64_body=True)

    assert (status, body["error"]["code"]) == (400, "invalid_body")


def test_without_a_request_id_the_answer_has_none() -> None:
    event = http_event("inbound_webhook/vendor_zapier", path=f"/hooks/stripe/{HOOK}")
    del event["requestContext"]["requestId"]

    answered = dispatch(ROUTES, event, logger)

    assert "Request-Id" not in answered["headers"]
    assert json.loads(answered["body"])["error"]["request_id"] is None
