"""What failed reaches a queue an admin can see, and a redrive through the CLI completes it once; a
flagged signup waits in the review queue until an admin approves it over the admin API (ADR 0019)."""

from __future__ import annotations

import json
from typing import Any

import requests

from referrals_local.demo import run_demo
from support.local_stack import FIXED_KEYS, RunningStack, referrals_cli

CAMPAIGN = {
    "name": "Redrive me",
    "landing_url": "https://shop.example.com/",
    "reward": {"amount": "15.00", "currency": "EUR", "friend_amount": "5.00"},
}


def cli_json(stack: RunningStack, *args: str) -> Any:
    result = referrals_cli(stack, "--json", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def status(stack: RunningStack, referral_id: str) -> str:
    return str(stack.get(f"/v1/referrals/{referral_id}").json()["status"])


def test_the_demo_tours_the_running_stack(local_stack: RunningStack) -> None:
    result = run_demo(local_stack.outputs)
    assert result.status == "rewarded"
    assert result.redirect_location.endswith(f"ref={result.advocate_code}")


def test_a_signal_that_exhausted_its_retries_is_redriven_once(local_stack: RunningStack) -> None:
    stack = local_stack
    campaign = stack.post("/v1/campaigns", CAMPAIGN).json()
    advocate = stack.post(f"/v1/campaigns/{campaign['id']}/advocates", {"email": "ada@example.com"}).json()
    sqs = stack.client("sqs")
    exceptions_queue = stack.outputs.exceptions_queue_url.rsplit("/", 1)[1]
    log_start = len(stack.log())

    # Given a payment for someone not signed up yet, while the exceptions queue is unavailable
    sqs.delete_queue(QueueUrl=stack.outputs.exceptions_queue_url)
    paid = requests.get(
        campaign["hook_url"], params={"email": "late@example.org", "event_id": "pay-1"}, timeout=10
    )
    assert paid.status_code == 202
    stack.wait_for(
        lambda: "to OnFailure (RetryAttemptsExhausted)" in stack.log()[log_start:], what="OnFailure"
    )
    sqs.create_queue(QueueName=exceptions_queue)
    (dead,) = cli_json(stack, "dlq", "list", "qualify-failure")["messages"]

    # When the person signs up after all, and the admin redrives the batch
    referral = stack.post("/v1/referrals", {"code": advocate["code"], "email": "late@example.org"}).json()
    assert referral_status_is_pending(stack, referral["id"])
    redrive = referrals_cli(stack, "dlq", "redrive", "qualify-failure", dead["message_id"])
    assert redrive.returncode == 0, redrive.stderr

    # Then the referral qualifies and is rewarded exactly once, and the queue is empty
    stack.wait_for(lambda: status(stack, referral["id"]) == "rewarded", what="the reward")
    again = referrals_cli(stack, "dlq", "redrive", "qualify-failure", dead["message_id"])
    assert again.returncode == 1  # the message is gone: nothing to do twice
    assert cli_json(stack, "dlq", "list", "qualify-failure")["messages"] == []
    shown = cli_json(stack, "referrals", "show", referral["id"])
    assert len(shown["rewards"]) == 2
    assert [a["action"] for a in shown["audit"]].count("referral.rewarded") == 1


def test_an_unmatched_signal_is_redriven_from_the_exceptions_queue(local_stack: RunningStack) -> None:
    stack = local_stack
    campaign = stack.post("/v1/campaigns", CAMPAIGN).json()
    advocate = stack.post(f"/v1/campaigns/{campaign['id']}/advocates", {"email": "ada@example.com"}).json()
    requests.get(campaign["hook_url"], params={"email": "later@example.org", "event_id": "pay-2"}, timeout=10)

    listed = stack.wait_for(lambda: cli_json(stack, "exceptions", "list")["messages"], what="the exception")
    mine = [m for m in listed if "later@example.org" in json.dumps(m)]
    assert len(mine) == 1
    referral = stack.post("/v1/referrals", {"code": advocate["code"], "email": "later@example.org"}).json()

    assert referrals_cli(stack, "exceptions", "redrive", mine[0]["message_id"]).returncode == 0
    stack.wait_for(lambda: status(stack, referral["id"]) == "rewarded", what="the reward")
    assert all(
        "later@example.org" not in json.dumps(m) for m in cli_json(stack, "exceptions", "list")["messages"]
    )


def referral_status_is_pending(stack: RunningStack, referral_id: str) -> bool:
    return status(stack, referral_id) == "pending"


def admin_get(stack: RunningStack, path: str, key: str | None) -> requests.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return requests.get(f"{stack.api}/v1/admin{path}", headers=headers, timeout=10)


def test_the_admin_routes_need_an_admin_key_locally(local_stack: RunningStack) -> None:
    stack = local_stack
    signed = {
        "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261123/us-east-1/execute-api/aws4_request"
    }

    without = admin_get(stack, "/queues", None)
    with_server_key = admin_get(stack, "/queues", stack.outputs.api_key)
    with_admin_key = admin_get(stack, "/queues", stack.outputs.admin_api_key)
    sigv4_only = requests.get(f"{stack.api}/v1/admin/queues", headers=signed, timeout=10)

    assert (without.status_code, without.json()["error"]["code"]) == (401, "unauthorized")
    assert (with_server_key.status_code, with_server_key.json()["error"]["code"]) == (403, "forbidden")
    assert with_admin_key.status_code == 200
    assert {queue["name"] for queue in with_admin_key.json()["items"]} >= {"exceptions", "qualify-failure"}
    assert sigv4_only.status_code == 401  # the local gateway verifies no signature, so it vouches for no one


def test_a_key_the_cli_revokes_is_refused_within_seconds(local_stack: RunningStack) -> None:
    stack = local_stack
    created = cli_json(stack, "api-keys", "create", "--name", "console", "--scope", "admin")
    assert admin_get(stack, "/api-keys", created["api_key"]).status_code == 200
    listed = cli_json(stack, "api-keys", "list")["items"]
    assert {"console", "local", "local admin"} <= {key["name"] for key in listed}

    revoked = cli_json(stack, "api-keys", "revoke", created["id"])

    assert revoked["revoked_at"] is not None
    stack.wait_for(
        lambda: admin_get(stack, "/api-keys", created["api_key"]).status_code == 401,
        timeout=10,
        what="the revoked key to be refused",
    )


# ------------------------------------------------------------------------------------ review queue
ADMIN = {"Authorization": f"Bearer {FIXED_KEYS['REFERRALS_ADMIN_KEY']}"}
REVIEWED_CAMPAIGN = {
    "name": "Review me",
    "landing_url": "https://shop.example.com/",
    "reward": {"amount": "20.00", "currency": "USD", "friend_amount": "10.00"},
}


def admin(stack: RunningStack, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    response = requests.request(method, f"{stack.api}/v1/admin{path}", json=body, headers=ADMIN, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_self_referral_is_listed_approved_and_then_paid_once(local_stack: RunningStack) -> None:
    stack = local_stack
    campaign = stack.post("/v1/campaigns", REVIEWED_CAMPAIGN).json()
    enrolled = stack.post(f"/v1/campaigns/{campaign['id']}/advocates", {"email": "ada@example.com"})
    code = enrolled.json()["code"]
    referral = stack.post("/v1/referrals", {"code": code, "email": "Ada+friend@example.com"}).json()
    assert referral["status"] == "in_review"
    payment = stack.post(f"/v1/referrals/{referral['id']}/qualify", {"event_id": "order-1"})
    assert payment.status_code == 202
    held = stack.once_quiet(lambda: stack.get(f"/v1/referrals/{referral['id']}").json())  # qualify ran
    assert (held["status"], held["rewards"]) == ("in_review", [])

    [review] = [i for i in admin(stack, "GET", "/reviews")["items"] if i["referral_id"] == referral["id"]]
    shown = admin(stack, "GET", f"/reviews/{review['id']}")  # every read the admin function's role allows
    assert (shown["held_signal"]["event_id"], shown["advocate"]["referrals"]) == ("order-1", 1)
    decided = admin(stack, "POST", f"/reviews/{review['id']}/approve", {"reason": "checked: a friend"})

    assert decided["status"] == "approved"
    paid = stack.once_quiet(lambda: stack.get(f"/v1/referrals/{referral['id']}").json())
    assert paid["status"] == "rewarded"
    assert sorted(reward["recipient"] for reward in paid["rewards"]) == ["advocate", "friend"]
    assert admin(stack, "GET", "/reviews")["items"] == []
