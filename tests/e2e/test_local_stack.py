"""The local stack end to end: the journey over HTTP, stream retry semantics, clean shutdown."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from referral_engine.adapters.dynamodb import keys
from referral_engine.adapters.dynamodb.codec import model_item
from referral_engine.adapters.dynamodb.signals import DEDUPE_WINDOW
from referral_engine.domain.models import Signal, SignalMatch
from support import iam
from support.local_stack import RunningStack

CAMPAIGN = {
    "name": "Give $20, get $10",
    "landing_url": "https://shop.example.com/welcome",
    "reward": {"amount": "20.00", "currency": "USD", "friend_amount": "10.00"},
}
# A person's browser: the HTTP library's own user agent is on the bots list (docs/adr/0023).
BROWSER = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"}


def new_referral(stack: RunningStack, friend: str = "grace@example.org") -> dict[str, Any]:
    campaign = stack.post("/v1/campaigns", CAMPAIGN).json()
    advocate = stack.post(f"/v1/campaigns/{campaign['id']}/advocates", {"email": "ada@example.com"}).json()
    referral = stack.post("/v1/referrals", {"code": advocate["code"], "email": friend}).json()
    return {"campaign": campaign, "advocate": advocate, "referral": referral}


def status_of(stack: RunningStack, referral_id: str) -> str:
    return str(stack.get(f"/v1/referrals/{referral_id}").json()["status"])


def test_the_journey_over_http(local_stack: RunningStack) -> None:
    import requests

    stack = local_stack
    campaign = stack.post("/v1/campaigns", CAMPAIGN)
    assert campaign.status_code == 201
    hook_url = campaign.json()["hook_url"]
    assert hook_url.startswith(f"{stack.api}/hooks/generic/")
    advocate = stack.post(
        f"/v1/campaigns/{campaign.json()['id']}/advocates", {"email": "ada@example.com"}
    ).json()

    click = requests.get(advocate["share_url"], headers=BROWSER, allow_redirects=False, timeout=10)
    assert click.status_code == 302
    assert parse_qs(urlsplit(click.headers["Location"]).query) == {"ref": [advocate["code"]]}
    assert click.cookies.get("ref") == advocate["code"]
    assert "HttpOnly" in click.headers["Set-Cookie"]
    again = requests.get(advocate["share_url"], headers=BROWSER, allow_redirects=False, timeout=10)
    assert again.status_code == 302
    enrolled_again = stack.post(
        f"/v1/campaigns/{campaign.json()['id']}/advocates", {"email": "ada@example.com"}
    )
    assert enrolled_again.json()["clicks"] == 2  # the participant item and the click shards, summed

    # The visitor's ip and user agent: fingerprinted under the stack's generated secret (ADR 0018).
    visitor = {"ip": "81.2.69.160", "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0"}
    by_api = stack.post(
        "/v1/referrals", {"code": advocate["code"], "email": "one@example.org", **visitor}
    ).json()
    assert by_api["status"] == "pending"
    by_hook = stack.post("/v1/referrals", {"code": advocate["code"], "email": "two@example.org"}).json()
    assert stack.post(f"/v1/referrals/{by_api['id']}/qualify", {"event_id": "inv_1"}).status_code == 202
    hooked = requests.get(hook_url, params={"code": by_hook["referral_code"]}, timeout=10)
    assert hooked.status_code == 202

    stack.wait_for(
        lambda: [status_of(stack, r["id"]) for r in (by_api, by_hook)],
        lambda statuses: statuses == ["rewarded", "rewarded"],
        what="both rewards",
    )
    shown = stack.get(f"/v1/referrals/{by_api['id']}").json()
    assert sorted(r["recipient"] for r in shown["rewards"]) == ["advocate", "friend"]

    # The business reports a refund through the API: the referral view shows it reversed (ADR 0021)
    refund = stack.post(
        f"/v1/referrals/{by_api['id']}/reverse", {"reason": "order refunded", "event_id": "rf_1"}
    )
    assert refund.status_code == 202
    stack.wait_for(
        lambda: status_of(stack, by_api["id"]), lambda status: status == "reversed", what="the reversal"
    )
    log = stack.log()
    for function in ("api", "track_click", "inbound_webhook", "qualify", "issue_reward"):
        assert f"  {function} " in log


def test_a_partial_batch_failure_retries_only_the_failed_record(local_stack: RunningStack) -> None:
    stack = local_stack
    journey = new_referral(stack, "partial@example.org")
    referral, campaign_id = journey["referral"], journey["campaign"]["id"]
    sqs = stack.client("sqs")
    # Given the exceptions queue is briefly unavailable, so setting a signal aside fails transiently
    sqs.delete_queue(QueueUrl=stack.outputs.exceptions_queue_url)
    now = datetime.now(UTC)
    signals = [
        Signal(
            source="api",
            event_id="partial-ok",
            campaign_id=campaign_id,
            match=SignalMatch(referral_id=referral["id"]),
            received_at=now,
        ),
        Signal(
            source="generic",
            event_id="partial-unmatched",
            campaign_id=campaign_id,
            match=SignalMatch(email="nobody-yet@example.org"),
            received_at=now,
        ),
    ]
    items = [
        model_item(
            s, "signal", **keys.signal(s.dedupe_key), expires_at=int((now + DEDUPE_WINDOW).timestamp())
        )
        for s in signals
    ]
    log_start = len(stack.log())

    # When both arrive in one batch (one write, as two webhooks accepted at the same instant)
    stack.client("dynamodb").batch_write_item(
        RequestItems={stack.outputs.table_name: [{"PutRequest": {"Item": item}} for item in items]}
    )
    stack.wait_for(lambda: "stream batch=2" in stack.log()[log_start:], what="the batch of two")
    sqs.create_queue(QueueName=stack.outputs.exceptions_queue_url.rsplit("/", 1)[1])

    # Then the good record is processed once, and only the failed one is retried until it succeeds
    stack.wait_for(lambda: status_of(stack, referral["id"]) == "rewarded", what="the reward")
    messages = stack.wait_for(
        lambda: sqs.receive_message(QueueUrl=stack.outputs.exceptions_queue_url, WaitTimeSeconds=1).get(
            "Messages"
        ),
        what="the set-aside signal",
    )
    assert len(messages) == 1
    qualify_lines = [line for line in stack.log()[log_start:].splitlines() if "  qualify " in line]
    assert "1 record(s) failed" in qualify_lines[0]
    assert all("stream batch=1" in line for line in qualify_lines[1:])
    audit = stack.get(f"/v1/referrals/{referral['id']}").json()
    assert audit["status"] == "rewarded"
    assert len(audit["rewards"]) == 2


def test_unknown_paths_are_404(local_stack: RunningStack) -> None:
    import requests

    assert requests.get(f"{local_stack.api}/nowhere", timeout=10).status_code == 404


def test_a_head_and_a_link_preview_are_redirected_uncounted_and_an_unknown_code_lands_on_a_page(
    local_stack: RunningStack,
) -> None:
    import requests

    campaign = local_stack.post("/v1/campaigns", CAMPAIGN).json()
    advocate = local_stack.post(
        f"/v1/campaigns/{campaign['id']}/advocates", {"email": "ada@example.com"}
    ).json()
    link = advocate["share_url"]

    head = requests.head(link, headers=BROWSER, timeout=10)
    preview = requests.get(
        link, headers={"User-Agent": "Slackbot-LinkExpanding 1.0"}, allow_redirects=False, timeout=10
    )
    with requests.Session() as browser:
        browser.headers.update(BROWSER)
        clicks = [browser.get(link, allow_redirects=False, timeout=10) for _ in range(2)]  # the 2nd: a repeat
    unknown = requests.get(f"{local_stack.api}/r/unknown0code", headers=BROWSER, timeout=10)

    assert (head.status_code, head.content) == (302, b"")
    assert head.headers["Location"] == preview.headers["Location"] == clicks[0].headers["Location"]
    assert [r.status_code for r in (preview, *clicks)] == [302, 302, 302]
    assert "rc_" + advocate["code"] in clicks[0].headers["Set-Cookie"]
    shown = local_stack.post(f"/v1/campaigns/{campaign['id']}/advocates", {"email": "ada@example.com"}).json()
    assert (shown["clicks"], shown["repeat_clicks"]) == (1, 1)
    assert unknown.history[0].status_code == 302  # followed to the engine's own page
    assert (unknown.status_code, unknown.url) == (200, f"{local_stack.api}/r")
    assert "This referral link is not valid" in unknown.text


def test_the_openapi_document_is_served_without_a_key(local_stack: RunningStack) -> None:
    import requests

    response = requests.get(f"{local_stack.api}/v1/openapi.json", timeout=10)
    assert response.status_code == 200
    assert response.json()["paths"]["/v1/campaigns"]["post"]["security"] == [{"apiKey": []}]


def test_a_permission_missing_from_a_role_fails_the_function_as_on_aws(local_stack: RunningStack) -> None:
    """Each function runs with its own role, enforced by the local AWS endpoint (ADR 0017): the whole e2e
    suite passing is the proof that every role covers its function's calls; here, a permission taken
    away fails the call as it would on AWS."""
    roles = iam.roles_file(local_stack.state_dir)
    as_sam_made_them = roles.read_text(encoding="utf-8")
    table = local_stack.outputs.table_name
    items_before = local_stack.client("dynamodb").scan(TableName=table)["Items"]
    try:
        iam.revoke(roles, "ApiFunction", "dynamodb:PutItem")
        response = local_stack.post("/v1/campaigns", CAMPAIGN)
        # DynamoDB refuses the write; the function raises; API Gateway answers for it, as on AWS.
        assert response.status_code == 500, response.text
        assert response.json() == {"message": "Internal Server Error"}
        function_log = (local_stack.state_dir / "logs" / "api.log").read_text(encoding="utf-8")
        assert "(AccessDeniedException) when calling the TransactWriteItems operation" in function_log
        assert "is not authorized to perform: dynamodb:PutItem on resource: arn:aws:dynamodb:" in function_log
        assert local_stack.client("dynamodb").scan(TableName=table)["Items"] == items_before
    finally:
        iam.write(roles, as_sam_made_them)
    assert local_stack.post("/v1/campaigns", CAMPAIGN).status_code == 201


def test_a_signed_server_call_qualifies_and_an_unsigned_one_is_refused(local_stack: RunningStack) -> None:
    """ADR 0024: the secret goes to SSM and inbound_webhook reads it back under the template's grants."""
    import requests
    from standardwebhooks.webhooks import Webhook

    stack = local_stack
    made_referral = new_referral(stack, "signed@example.org")
    campaign, referral = made_referral["campaign"], made_referral["referral"]
    made = stack.post(f"/v1/campaigns/{campaign['id']}/hook-secret", {})
    assert made.status_code == 201, made.text
    secret = made.json()["hook_secret"]

    body = json.dumps({"code": referral["referral_code"], "event_id": "order-1"})
    unsigned = requests.post(campaign["hook_url"], data=body, timeout=10)
    message_id, now = f"msg_{uuid.uuid4().hex}", datetime.now(UTC)
    headers = {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, now, body),
    }
    signed = requests.post(campaign["hook_url"], data=body.encode(), headers=headers, timeout=10)

    assert unsigned.status_code == 401
    assert signed.status_code == 202, signed.text
    stack.wait_for(
        lambda: status_of(stack, referral["id"]),
        lambda status: status == "rewarded",
        what="the signed call's reward",
    )
