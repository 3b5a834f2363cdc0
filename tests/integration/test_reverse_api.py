"""`POST /v1/referrals/{referral_id}/reverse` through the real handler: the caller's reason reaches the
referral's reversal, its audit trail and the `referral.reversed` event; bad input writes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from support.aws import AwsStack
from support.events import json_body
from support.journey import (
    AUTH,
    create_campaign,
    enrol,
    get_referral,
    qualify_via_api,
    run_qualify,
    sign_up,
)
from support.journey import call_route as route

REVERSE = "/v1/referrals/{referral_id}/reverse"
KEY = {"idempotency-key": "6b0e2f7c-1d3a-4c55-8e9b-0a1f2c3d4e5f"}


def reverse(referral_id: str, body: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return route("POST", REVERSE, body=body, headers=headers, referral_id=referral_id)


def qualified_referral(stack: AwsStack) -> dict[str, Any]:
    referral = sign_up(enrol(create_campaign()["id"])["code"])
    assert (
        qualify_via_api(referral["id"], event_id="inv_1", amount="80.00", currency="USD")["statusCode"] == 202
    )
    run_qualify(stack)
    return referral


def test_a_reversal_is_accepted_and_reverses_the_referral_with_the_callers_reason(stack: AwsStack) -> None:
    referral = qualified_referral(stack)

    response = reverse(referral["id"], {"reason": "order 1042 cancelled by the customer", "event_id": "rf_7"})
    assert run_qualify(stack)["batchItemFailures"] == []

    assert response["statusCode"] == 202
    assert json_body(response) == {
        "referral_id": referral["id"],
        "signal_id": "api:rf_7:reverse",
        "reason": "order 1042 cancelled by the customer",
        "duplicate": False,
    }
    shown = json_body(get_referral(referral["id"]))
    assert shown["status"] == "reversed"
    [entry] = [
        item
        for item in stack.items_of("audit")
        if item["pk"] == f"REFERRAL#{referral['id']}" and item["action"] == "referral.reversed"
    ]
    assert entry["detail"]["reason"] == "order 1042 cancelled by the customer"
    assert entry["actor"] == "signal:api:rf_7:reverse"


def test_a_reversal_is_deduplicated_on_its_event_id_and_kept_apart_from_a_qualification(
    stack: AwsStack,
) -> None:
    referral = sign_up(enrol(create_campaign()["id"])["code"])
    qualify_via_api(referral["id"], event_id="inv_1")

    first = json_body(reverse(referral["id"], {"reason": "refunded", "event_id": "inv_1"}))
    again = json_body(reverse(referral["id"], {"reason": "refunded", "event_id": "inv_1"}))
    derived = json_body(reverse(referral["id"], {"reason": "refunded"}))
    derived_again = json_body(reverse(referral["id"], {"reason": "refunded"}))

    assert (first["duplicate"], again["duplicate"]) == (False, True)
    assert (derived["duplicate"], derived_again["duplicate"]) == (False, True)
    assert sorted(item["kind"] for item in stack.items_of("signal")) == ["qualify", "reverse", "reverse"]


def test_a_retry_with_the_same_idempotency_key_gets_the_first_answer(stack: AwsStack) -> None:
    referral = sign_up(enrol(create_campaign()["id"])["code"])
    body = {"reason": "chargeback", "event_id": "dp_1"}

    first = reverse(referral["id"], body, headers={**AUTH, **KEY})
    retry = reverse(referral["id"], body, headers={**AUTH, **KEY})

    assert first["statusCode"] == retry["statusCode"] == 202
    assert json_body(retry) == json_body(first)
    assert retry["headers"]["Idempotent-Replayed"] == "true"
    assert len(stack.items_of("signal")) == 1


def test_an_unknown_referral_is_404_and_writes_nothing(stack: AwsStack) -> None:
    before = stack.items()
    response = reverse("ref_unknown", {"reason": "refunded"})
    assert response["statusCode"] == 404
    assert stack.items() == before


@pytest.mark.parametrize(
    "body",
    [
        None,
        {},
        {"reason": "   "},
        {"reason": "x" * 501},
        {"reason": "refunded", "occurred_at": "2026-11-01T10:00:00"},  # no zone
        {"reason": "refunded", "amount": "10.00"},  # not a field of a reversal
        {"reason": "refunded", "event_id": "e" * 191},
    ],
)
def test_bad_input_is_a_422_and_writes_nothing(stack: AwsStack, body: Any) -> None:
    referral = sign_up(enrol(create_campaign()["id"])["code"])
    before = stack.items()

    response = reverse(referral["id"], body)

    assert response["statusCode"] == 422, response
    assert json_body(response)["error"]["code"] == "validation_error"
    assert stack.items() == before
