"""Driving the handlers in process the way API Gateway, the stream and EventBridge would."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import api
import inbound_webhook
import issue_reward
import qualify
import track_click
from support.aws import API_KEY, AwsStack
from support.events import LambdaContext, http_event, json_body

AUTH = {"authorization": f"Bearer {API_KEY}"}
CAMPAIGN = {
    "name": "Give $20, get $20",
    "landing_url": "https://shop.example.com/welcome?utm_source=referral",
    "reward": {"amount": "20.00", "currency": "USD", "friend_amount": "10.00"},
}


def call_api(sample: str, **kwargs: Any) -> dict[str, Any]:
    headers = {**AUTH, **kwargs.pop("headers", {})}
    return api.handler(http_event(f"api/{sample}", headers=headers, **kwargs), LambdaContext())


def call_route(
    method: str,
    route: str,
    body: Any = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    **path_parameters: str,
) -> dict[str, Any]:
    """Any API route, e.g. call_route("DELETE", "/v1/connections/{connection_id}", connection_id=...)."""
    path = route.format(**path_parameters)
    event = http_event(
        "api/get_campaign",
        path=path,
        path_parameters=path_parameters,
        query=query,
        body=body,
        headers=AUTH if headers is None else headers,
        drop_headers=() if headers is None else ("authorization",),
    )
    event["routeKey"] = event["requestContext"]["routeKey"] = f"{method} {route}"
    event["requestContext"]["http"]["method"] = method
    return api.handler(event, LambdaContext())


def create_campaign(**overrides: Any) -> dict[str, Any]:
    response = call_api("create_campaign", body={**CAMPAIGN, **overrides})
    assert response["statusCode"] == 201, response
    return json_body(response)


def enrol(campaign_id: str, email: str = "ada@example.com") -> dict[str, Any]:
    response = call_api(
        "enrol_advocate",
        path=f"/v1/campaigns/{campaign_id}/advocates",
        path_parameters={"campaign_id": campaign_id},
        body={"email": email, "name": "Ada"},
    )
    assert response["statusCode"] in (200, 201), response
    return json_body(response)


def sign_up(code: str, email: str = "grace@example.org", **extra: Any) -> dict[str, Any]:
    response = call_api("sign_up", body={"code": code, "email": email, **extra})
    assert response["statusCode"] in (200, 201), response
    return json_body(response)


def qualify_via_api(referral_id: str, **body: Any) -> dict[str, Any]:
    return call_api(
        "qualify_referral",
        path=f"/v1/referrals/{referral_id}/qualify",
        path_parameters={"referral_id": referral_id},
        body=body,
    )


def get_referral(referral_id: str) -> dict[str, Any]:
    return call_api(
        "get_referral", path=f"/v1/referrals/{referral_id}", path_parameters={"referral_id": referral_id}
    )


def click(code: str) -> dict[str, Any]:
    event = http_event("track_click/get_referral_link", path=f"/r/{code}", path_parameters={"code": code})
    return track_click.handler(event, LambdaContext())


def generic_hook(hook_id: str, query: dict[str, str], method: str = "GET", **kwargs: Any) -> dict[str, Any]:
    sample = "inbound_webhook/generic_get" if method == "GET" else "inbound_webhook/generic_post_json"
    event = http_event(
        sample, path=f"/hooks/generic/{hook_id}", path_parameters={"hook_id": hook_id}, query=query, **kwargs
    )
    return inbound_webhook.handler(event, LambdaContext())


def run_qualify(stack: AwsStack) -> dict[str, Any]:
    """Hands qualify the stream records the writes so far really produced (filtered as the template says)."""
    batch = stack.stream_batch()
    result = qualify.handler(batch, LambdaContext())
    return {"records": batch["Records"], "batchItemFailures": result["batchItemFailures"]}


def run_issue_reward(stack: AwsStack) -> list[dict[str, Any]]:
    """Hands issue_reward every event the bus delivered through the template's rule."""
    return [issue_reward.handler(event, LambdaContext()) for event in stack.captured_events()]


def hook_id_of(campaign: dict[str, Any]) -> str:
    return str(campaign["hook_url"].rsplit("/", 1)[1])


def post_connection(campaign_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """`POST /v1/campaigns/{campaign_id}/connections`: the API's whole answer."""
    return call_api("create_connection", path_parameters={"campaign_id": campaign_id}, body=body)


def create_connection(campaign_id: str, **body: Any) -> dict[str, Any]:
    response = post_connection(campaign_id, body)
    assert response["statusCode"] == 201, response
    return json_body(response)


def vendor_hook(
    hook_url: str, body: bytes | str, headers: dict[str, str] | None = None, query: str = ""
) -> dict[str, Any]:
    """POSTs a vendor's raw body to a connection's hook URL, as API Gateway would hand it over."""
    _, _, source, hook_id = urlsplit(hook_url).path.split("/")
    event = http_event(
        "inbound_webhook/vendor_zapier",
        path_parameters={"source": source, "hook_id": hook_id},
        query=query,
        body=body,
        headers={"content-type": "application/json", **(headers or {})},
        drop_headers=("x-referrals-secret",),
    )
    return inbound_webhook.handler(event, LambdaContext())


def assert_rewarded_once(
    qualified: dict[str, Any], outcomes: list[dict[str, Any]], winner: dict[str, Any], other: dict[str, Any]
) -> None:
    """After one run of qualify and issue_reward: no failed record, exactly one reward issue — the
    winner's, for the campaign's amounts ($20 to the advocate, $10 to the friend) — and the other
    referral still pending."""
    assert qualified["batchItemFailures"] == []
    assert outcomes == [{"referral_id": winner["id"], "outcome": "issued"}]
    shown = json_body(get_referral(winner["id"]))
    assert shown["status"] == "rewarded"
    assert sorted((r["recipient"], r["amount"]) for r in shown["rewards"]) == [
        ("advocate", "20.00"),
        ("friend", "10.00"),
    ]
    assert json_body(get_referral(other["id"]))["status"] == "pending"


def grace_and_linus(
    campaign_id: str, source: str, grace_id: str, linus_id: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Two friends referred by one advocate, known to the vendor `source` by the ids given."""
    code = enrol(campaign_id)["code"]
    grace = sign_up(code, "grace@example.org", external_ids={source: grace_id})
    linus = sign_up(code, "linus@example.org", external_ids={source: linus_id})
    return grace, linus
