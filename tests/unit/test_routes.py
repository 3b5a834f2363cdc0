"""The hand-made dispatch (web/routes.py): answers as Powertools' resolver did, without loading it."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Annotated, Any

import msgspec
import pytest

from referral_engine.domain.errors import NotFound
from referral_engine.domain.records import Record
from referral_engine.domain.stripped_text import strip, text_schema
from referral_engine.domain.webhooks import WebhookRefused
from referral_engine.observability import logger
from referral_engine.services.signals import GenericHookRequest
from referral_engine.web.errors import Unauthorized
from referral_engine.web.routes import Answer, Request, Respond, Route, answer, dispatch, parse_fields
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


# ------------------------------------------------------------------------------------ the admin's needs
class _Note(Record, forbid_unknown_fields=True):
    text: Annotated[str, text_schema(1, 10)]
    tag: str = "none"

    def __post_init__(self) -> None:
        strip(self, "text", 1, 10)


class _Id(Record):
    item_id: Annotated[str, msgspec.Meta(max_length=5)]


def _note(request: Request, **parameters: str) -> Answer:
    note = request.required_json_body(_Note)
    return answer(200, json.dumps({"text": note.text, "actor": request.actor, **parameters}))


def _optional_note(request: Request, **parameters: str) -> Answer:
    return answer(200, json.dumps({"note": request.json_body(_Note) is not None}))


def _only_admins(request: Request, then: Respond) -> Answer:
    if request.header("Authorization") != "Bearer admin":
        raise Unauthorized("a valid API key is required")
    return then(replace(request, actor="admin"))


NOTES = [
    Route("POST", "/notes/{item_id}", _note, summary="note", path_parameters=_Id),
    Route("PUT", "/notes/{item_id}", _optional_note, summary="maybe a note"),
]


def _noted(method: str, body: Any = None, *, item: str = "a1", **headers: str) -> tuple[int, Any]:
    event = http_event(
        "inbound_webhook/vendor_zapier",
        path=f"/notes/{item}",
        body=body,
        headers={"content-type": "application/json", "authorization": "Bearer admin", **headers},
    )
    if body is None:
        event.pop("body", None)
    event["requestContext"]["http"]["method"] = method
    answered = dispatch(NOTES, event, logger, (_only_admins,))
    return answered["statusCode"], json.loads(answered["body"])


def test_middlewares_run_before_the_route_is_looked_up_and_pass_the_request_on() -> None:
    event = http_event("inbound_webhook/vendor_zapier", path="/nowhere")

    assert dispatch(NOTES, event, logger, (_only_admins,))["statusCode"] == 401
    assert _noted("POST", {"text": " hi "}) == (200, {"text": "hi", "actor": "admin", "item_id": "a1"})


@pytest.mark.parametrize(
    ("body", "item", "field", "message"),
    [
        ({"text": "hi"}, "toolong", "path.item_id", "Expected `str` of length <= 5"),
        ({"text": "   "}, "a1", "text", "Expected `str` of length >= 1"),
        ({"text": " " + "x" * 11}, "a1", "text", "Expected `str` of length <= 10"),
        ({}, "a1", "text", "Object missing required field `text`"),
        ({"text": "hi", "oops": 1}, "a1", "oops", "Object contains unknown field `oops`"),
        ({"text": "hi", "tag": 3}, "a1", "tag", "Expected `str`, got `int`"),
        (None, "a1", "body", "Field required"),
    ],
)
def test_a_refused_path_parameter_or_body_field_is_a_422_naming_it(
    body: Any, item: str, field: str, message: str
) -> None:
    status, answered = _noted("POST", body, item=item)

    assert status == 422
    assert answered["error"]["details"] == [{"field": field, "message": message}]


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        ('{"text": "hi"}', "text/plain", 415, "unsupported_media_type"),
        ("[1]", "application/json", 400, "invalid_json"),
        ('{"text": "' + "x" * 17000 + '"}', "application/json", 413, "payload_too_large"),
    ],
)
def test_a_body_that_is_no_json_object_is_refused_before_its_fields(
    body: str, content_type: str, status: int, code: str
) -> None:
    assert _noted("POST", body, **{"content-type": content_type})[0] == status
    assert _noted("POST", body, **{"content-type": content_type})[1]["error"]["code"] == code


def test_an_optional_body_may_be_left_out_or_empty() -> None:
    assert _noted("PUT") == (200, {"note": False})
    assert _noted("PUT", "") == (200, {"note": False})
    assert _noted("PUT", {"text": "hi"}) == (200, {"note": True})
