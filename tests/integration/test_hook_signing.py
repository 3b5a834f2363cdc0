"""The generic hook's optional signature (Standard Webhooks, docs/adr/0024), through the handlers against
moto, signed by the scheme's official library as a business's server would sign."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from referral_engine import wiring
from referral_engine.domain import hook_signatures
from support.aws import AwsStack
from support.events import json_body
from support.journey import call_route, create_campaign, enrol, generic_hook, hook_id_of, sign_up


def make_secret(campaign_id: str) -> dict[str, Any]:
    return call_route("POST", "/v1/campaigns/{campaign_id}/hook-secret", campaign_id=campaign_id)


def signed_call(
    hook_id: str,
    body: dict[str, Any],
    secret: str,
    *,
    message_id: str = "msg_1",
    at: datetime | None = None,
    sent_body: str | None = None,
) -> dict[str, Any]:
    text = json.dumps(body)
    at = at or datetime.now(UTC)
    headers = {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, at, text),
    }
    return generic_hook(hook_id, {}, method="POST", body=sent_body or text, headers=headers)


@pytest.fixture
def signed(stack: AwsStack) -> dict[str, Any]:
    campaign = create_campaign()
    referral = sign_up(enrol(campaign["id"])["code"])
    answer = make_secret(campaign["id"])
    assert answer["statusCode"] == 201, answer
    view = json_body(answer)
    return {"hook_id": hook_id_of(campaign), "code": referral["referral_code"], "secret": view["hook_secret"]}


def test_a_signed_call_is_stored_once_under_its_webhook_id(stack: AwsStack, signed: dict[str, Any]) -> None:
    body = {"code": signed["code"], "amount": "20.00", "currency": "USD"}
    first = signed_call(signed["hook_id"], body, signed["secret"], message_id="msg_2xyz")
    again = signed_call(signed["hook_id"], body, signed["secret"], message_id="msg_2xyz")

    assert first["statusCode"] == 202, first
    assert json_body(first)["signal_id"] == "generic:msg_2xyz"
    assert json_body(again)["duplicate"] is True
    assert len(stack.items_of("signal")) == 1


def refused(answer: dict[str, Any], code: str = "signature_invalid") -> bool:
    return answer["statusCode"] == 401 and bool(json_body(answer)["error"]["code"] == code)


def test_once_a_campaign_has_a_secret_unsigned_forged_stale_or_altered_calls_are_refused(
    stack: AwsStack, signed: dict[str, Any]
) -> None:
    hook_id, secret, body = signed["hook_id"], signed["secret"], {"code": signed["code"]}
    unsigned = generic_hook(hook_id, {"code": signed["code"]})
    unsigned_post = generic_hook(hook_id, {}, method="POST", body=body)
    forged = signed_call(hook_id, body, hook_signatures.new_signing_secret())
    stale = signed_call(hook_id, body, secret, at=datetime.now(UTC) - timedelta(minutes=6))
    future = signed_call(hook_id, body, secret, at=datetime.now(UTC) + timedelta(minutes=6))
    altered = signed_call(hook_id, body, secret, sent_body=json.dumps({**body, "amount": "999.00"}))

    for answer in (unsigned, unsigned_post, forged, altered):
        assert refused(answer), answer
    for answer in (stale, future):
        assert refused(answer, "stale_timestamp"), answer
    assert stack.items_of("signal") == []


def test_a_signed_hook_does_not_read_the_unsigned_query(stack: AwsStack, signed: dict[str, Any]) -> None:
    text = json.dumps({"code": signed["code"]})
    at = datetime.now(UTC)
    headers = {
        "webhook-id": "msg_q",
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(signed["secret"]).sign("msg_q", at, text),
    }
    answer = generic_hook(signed["hook_id"], {"amount": "999.00"}, method="POST", body=text, headers=headers)

    assert answer["statusCode"] == 400
    assert stack.items_of("signal") == []


def test_a_rotated_secret_still_signs_for_the_grace_period_and_not_after(
    stack: AwsStack, signed: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    campaign_id = stack.items_of("campaign")[0]["id"]
    rotated = json_body(make_secret(campaign_id))
    new, old, body = rotated["hook_secret"], signed["secret"], {"code": signed["code"]}

    assert rotated["hook_signing"]["previous_secret_valid_until"] is not None
    assert signed_call(signed["hook_id"], body, old, message_id="old-in-grace")["statusCode"] == 202
    assert signed_call(signed["hook_id"], body, new, message_id="new")["statusCode"] == 202

    # Past the grace by the service's clock (its staleness check widened to match); the calls are fresh
    # by the real clock, which the library checks.
    later = datetime.now(UTC) + hook_signatures.GRACE + timedelta(minutes=1)
    monkeypatch.setattr(wiring.hook_signing(), "_clock", lambda: later)
    monkeypatch.setattr(hook_signatures, "TOLERANCE", hook_signatures.GRACE * 2)
    assert refused(signed_call(signed["hook_id"], body, old, message_id="old-after"))
    assert signed_call(signed["hook_id"], body, new, message_id="new-after")["statusCode"] == 202


def test_a_campaign_without_a_secret_keeps_the_url_as_its_only_secret(stack: AwsStack) -> None:
    campaign = create_campaign()
    code = sign_up(enrol(campaign["id"])["code"])["referral_code"]

    assert campaign["hook_signing"] is None
    assert generic_hook(hook_id_of(campaign), {"code": code, "event_id": "o-1"})["statusCode"] == 202


def test_the_secret_is_shown_once_and_never_logged_or_viewed(
    stack: AwsStack, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    campaign = create_campaign()
    with caplog.at_level(logging.INFO):  # as the functions log (botocore's DEBUG shows every request)
        answer = make_secret(campaign["id"])
    secret = json_body(answer)["hook_secret"]
    shown = call_route("GET", "/v1/campaigns/{campaign_id}", campaign_id=campaign["id"])

    assert secret.startswith("whsec_")
    assert "hook_secret" not in json_body(shown)
    assert secret not in shown["body"]
    assert json_body(shown)["hook_signing"]["rotated_at"]
    assert secret not in caplog.text
    assert secret not in capsys.readouterr().out
    assert all(secret not in json.dumps(item, default=str) for item in stack.items())


def test_the_routes_answer_404_for_no_campaign_and_422_for_an_impossible_id(stack: AwsStack) -> None:
    for route in ("/v1/campaigns/{campaign_id}/hook-secret", "/v1/campaigns/{campaign_id}/rotate-hook-url"):
        assert call_route("POST", route, campaign_id="cmp_nothing")["statusCode"] == 404
        assert call_route("POST", route, campaign_id="c" * 65)["statusCode"] == 422


def test_a_rotated_hook_url_kills_the_old_one(stack: AwsStack) -> None:
    campaign = create_campaign()
    code = sign_up(enrol(campaign["id"])["code"])["referral_code"]
    answer = call_route("POST", "/v1/campaigns/{campaign_id}/rotate-hook-url", campaign_id=campaign["id"])
    moved = json_body(answer)

    assert answer["statusCode"] == 200
    assert moved["hook_url"] != campaign["hook_url"]
    assert generic_hook(hook_id_of(campaign), {"code": code, "event_id": "o-1"})["statusCode"] == 404
    assert generic_hook(hook_id_of(moved), {"code": code, "event_id": "o-1"})["statusCode"] == 202
