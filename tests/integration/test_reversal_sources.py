"""Reversals through the inbound webhook handler from the generic hook and a Pipedrive connection that
asks to reverse when the milestone is undone (docs/adr/0021): stored, applied by qualify, each with
its source's reason; a CRM's undoing of a milestone never reached is not held."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from support.aws import AwsStack
from support.events import json_body
from support.journey import (
    create_campaign,
    create_connection,
    enrol,
    generic_hook,
    get_referral,
    grace_and_linus,
    hook_id_of,
    run_qualify,
    sign_up,
    vendor_hook,
)

PIPEDRIVE = Path(__file__).resolve().parents[2] / "events" / "vendors" / "pipedrive"


def audit(stack: AwsStack, referral_id: str, action: str) -> list[dict[str, Any]]:
    return [
        item
        for item in stack.items_of("audit")
        if item["pk"] == f"REFERRAL#{referral_id}" and item["action"] == action
    ]


def status_of(referral: dict[str, Any]) -> str:
    return str(json_body(get_referral(referral["id"]))["status"])


def test_the_generic_hook_reverses_with_the_callers_reason(stack: AwsStack) -> None:
    campaign = create_campaign()
    referral = sign_up(enrol(campaign["id"])["code"])
    hook = hook_id_of(campaign)
    generic_hook(hook, {"code": referral["referral_code"], "event_id": "order-7"})
    run_qualify(stack)

    body = {
        "code": referral["referral_code"],
        "event_id": "order-7",
        "event": "reverse",
        "reason": "order returned",
    }
    response = generic_hook(hook, {}, method="POST", body=body)
    assert run_qualify(stack)["batchItemFailures"] == []

    assert response["statusCode"] == 202
    assert json_body(response)["signal_id"] == "generic:order-7:reverse"
    assert status_of(referral) == "reversed"
    [entry] = audit(stack, referral["id"], "referral.reversed")
    assert entry["detail"]["reason"] == "order returned"


def lost_after_won() -> str:
    body = json.loads((PIPEDRIVE / "deal_won_v2.json").read_text())
    body["data"].update(status="lost", lost_time="2026-12-01T10:02:03Z", update_time="2026-12-01T10:02:03Z")
    body["previous"] = {"status": "won", "lost_time": None}
    return json.dumps(body)


def test_a_pipedrive_deal_lost_after_it_was_won_reverses_and_before_it_is_only_noted(stack: AwsStack) -> None:
    campaign = create_campaign()
    grace, linus = grace_and_linus(campaign["id"], "pipedrive", "3311", "4400")
    connection = create_connection(
        campaign["id"],
        source="pipedrive",
        milestone={"status": "won"},
        settings={"username": "referrals", "reverse_when_undone": True},
    )
    token = base64.b64encode(f"referrals:{connection['secret']}".encode()).decode()
    auth = {"authorization": f"Basic {token}"}

    # A loss delivered before the win (out of order): Grace's referral is pending, nothing is held
    assert vendor_hook(connection["hook_url"], lost_after_won(), auth)["statusCode"] == 200
    run_qualify(stack)
    assert status_of(grace) == "pending"
    [note] = audit(stack, grace["id"], "signal.reversal_ignored")
    assert note["detail"]["reason"].endswith("the referral never reached its milestone")

    # The win, then the loss again (a later change): qualified, then reversed with Pipedrive's reason
    vendor_hook(connection["hook_url"], (PIPEDRIVE / "deal_won_v2.json").read_text(), auth)
    run_qualify(stack)
    assert status_of(grace) == "qualified"

    # Another deal of hers won then lost: not the deal that qualified her, only noted
    other = json.loads(lost_after_won())
    other["data"].update(id=2077, update_time="2026-12-02T07:00:00Z")
    vendor_hook(connection["hook_url"], json.dumps(other), auth)
    run_qualify(stack)
    assert status_of(grace) == "qualified"
    [*_, unrelated] = audit(stack, grace["id"], "signal.reversal_ignored")
    assert "deal_2077" in unrelated["detail"]["reason"]

    later = json.loads(lost_after_won())
    later["data"]["update_time"] = "2026-12-02T08:00:00Z"
    vendor_hook(connection["hook_url"], json.dumps(later), auth)
    assert run_qualify(stack)["batchItemFailures"] == []

    assert status_of(grace) == "reversed"
    [entry] = audit(stack, grace["id"], "referral.reversed")
    assert entry["detail"]["reason"] == "Pipedrive deal 1042 went from won to lost"
    assert status_of(linus) == "pending"
