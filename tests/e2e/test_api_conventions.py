"""The payment-API conventions over HTTP on the local stack: Idempotency-Key and Request-Id."""

from __future__ import annotations

import json
import uuid
from typing import Any

import requests

from support.local_stack import RunningStack


def test_a_retried_campaign_post_gets_the_first_answer_and_creates_one_campaign(
    local_stack: RunningStack,
) -> None:
    name = f"Retried after a timeout {uuid.uuid4()}"
    campaign = {
        "name": name,
        "landing_url": "https://shop.example.com/welcome",
        "reward": {"amount": "20.00", "currency": "USD"},
    }
    headers = {**local_stack.headers(), "Idempotency-Key": str(uuid.uuid4())}

    first = requests.post(f"{local_stack.api}/v1/campaigns", json=campaign, headers=headers, timeout=10)
    retry = requests.post(f"{local_stack.api}/v1/campaigns", json=campaign, headers=headers, timeout=10)

    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.json() == first.json()
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert first.headers["Request-Id"] != retry.headers["Request-Id"]  # two requests, one answer
    pages = (
        local_stack.client("dynamodb")
        .get_paginator("scan")
        .paginate(TableName=local_stack.outputs.table_name)
    )
    named = [item for page in pages for item in page["Items"] if item.get("name") == {"S": name}]
    assert len(named) == 1

    changed = requests.post(
        f"{local_stack.api}/v1/campaigns", json={**campaign, "name": "Else"}, headers=headers, timeout=10
    )
    assert changed.status_code == 422
    error = changed.json()["error"]
    assert error["code"] == "idempotency_key_reused"
    assert error["request_id"] == changed.headers["Request-Id"]
    refused = local_stack.wait_for(
        lambda: logged(local_stack, "request refused"), what="the refusal's log line"
    )
    assert refused[-1]["correlation_id"] == changed.headers["Request-Id"]


def logged(stack: RunningStack, message: str) -> list[dict[str, Any]]:
    lines = (stack.state_dir / "logs" / "api.log").read_text().splitlines()
    entries = [json.loads(line) for line in lines if line.startswith("{")]
    return [entry for entry in entries if entry.get("message") == message]
