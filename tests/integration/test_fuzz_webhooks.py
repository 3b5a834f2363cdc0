"""Hostile bodies for the webhook routes (hypothesis): bytes that are not UTF-8, deeply nested JSON,
huge numbers, odd content types. The generic hook and an automation tool holding the right secret
get past authentication into the parsing: a 4xx error object, or a 202/200, never a 5xx. Every
vendor whose signature is missing refuses with a 401/403 before it reads the body, and a refused
call writes nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import inbound_webhook
from support.aws import AwsStack
from support.events import LambdaContext, http_event
from support.journey import create_campaign, create_connection, hook_id_of

FUZZ = settings(
    max_examples=15,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=(Phase.explicit, Phase.generate),
)
# Each vendor's connection as its own tests make one (the fields it needs, no working signature).
VENDORS: dict[str, dict[str, Any]] = {
    "hubspot": {
        "secret": "hubspot-client-secret",
        "milestone": {"object": "contact", "property": "lifecyclestage", "value": "customer"},
    },
    "intercom": {
        "secret": "intercom-client-secret",
        "milestone": {"attribute": "custom_attributes.plan", "value": "paid"},
    },
    "zoho": {"milestone": {"field": "Stage", "value": "Closed Won"}},
    "stripe": {"secret": "whsec_fuzz", "milestone": {"events": ["invoice.paid"]}},
    "pipedrive": {"milestone": {"status": "won"}, "settings": {"username": "referrals"}},
    "salesforce": {
        "milestone": {"object": "Opportunity", "field": "StageName", "value": "Closed Won"},
        "settings": {"organization_id": "00D5e000000KQ2eEAG"},
    },
    "zapier": {},
    "make": {},
}
CONTENT_TYPES = st.sampled_from(
    [
        "application/json",
        "application/json; charset=latin-1",
        "application/x-www-form-urlencoded",
        "text/plain",
        "text/xml; charset=utf-8",
        "multipart/form-data; boundary=x",
        "application/octet-stream",
        "",
        "application/json\x00",
    ]
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "code": st.text(max_size=20) | JSON_VALUES,
        "email": st.text(max_size=30) | JSON_VALUES,
        "event_id": st.text(max_size=30) | JSON_VALUES,
        "amount": st.sampled_from(["1e400", "NaN", "-0", "12.345", "1" * 400, 10**400, 1e308]) | JSON_VALUES,
        "currency": st.text(max_size=5) | JSON_VALUES,
        "occurred_at": st.text(max_size=30) | JSON_VALUES,
    },
)


class Deep(bytes):
    """A long body, shown by its length in a failure report."""

    def __repr__(self) -> str:
        return f"<{len(self)} bytes: {bytes(self[:20])!r}...>"


def nested(depth: int) -> bytes:
    return Deep(b'{"code":' * depth + b"1" + b"}" * depth)


BODIES = st.one_of(
    st.binary(max_size=300),
    st.builds(lambda fields: json.dumps(fields).encode(), FIELDS),
    JSON_VALUES.map(lambda value: json.dumps(value).encode()),
    st.integers(min_value=1_000, max_value=200_000).map(nested),
    st.integers(min_value=1_000, max_value=100_000).map(lambda depth: Deep(b"[" * depth + b"]" * depth)),
    st.sampled_from([b"\xff\xfe{}", b'{"code": "\xe9t\xe9"}', Deep(b'{"amount": 1' + b"0" * 5000 + b"}")]),
)


def post(path: str, hook_id: str, body: bytes, content_type: str, **headers: str) -> dict[str, Any]:
    event = http_event(
        "inbound_webhook/generic_post_json",
        path=path,
        path_parameters={"hook_id": hook_id},
        body=body,
        headers={"content-type": content_type, **headers},
        base64_body=True,  # API Gateway's form of any body it does not take for text
    )
    event["routeKey"] = event["requestContext"]["routeKey"] = (
        "POST /hooks/generic/{hook_id}"
        if path.startswith("/hooks/generic/")
        else "POST /hooks/{source}/{hook_id}"
    )
    return inbound_webhook.handler(event, LambdaContext())


def error_code(response: dict[str, Any]) -> str:
    error = json.loads(response["body"])["error"]
    assert isinstance(error["message"], str), response
    return str(error["code"])


@pytest.fixture
def hooks(stack: AwsStack) -> dict[str, Any]:
    campaign = create_campaign()
    connections = {
        source: create_connection(campaign["id"], source=source, **body) for source, body in VENDORS.items()
    }
    return {"generic": hook_id_of(campaign), **connections}


def test_the_generic_hook_answers_any_body_with_a_4xx_or_stores_it(
    stack: AwsStack, hooks: dict[str, Any]
) -> None:
    hook_id = hooks["generic"]

    @FUZZ
    @given(body=BODIES, content_type=CONTENT_TYPES)
    def holds(body: bytes, content_type: str) -> None:
        before = stack.items()
        response = post(f"/hooks/generic/{hook_id}", hook_id, body, content_type)
        assert response["statusCode"] in (202, 400, 404, 413, 415, 422), response
        if response["statusCode"] >= 400:
            error_code(response)
            assert stack.items() == before

    holds()


def test_an_automation_tool_with_its_secret_gets_a_4xx_or_its_reply(
    stack: AwsStack, hooks: dict[str, Any]
) -> None:
    connection = hooks["zapier"]
    hook_id = hook_id_of(connection)

    @FUZZ
    @given(body=BODIES, content_type=CONTENT_TYPES)
    def holds(body: bytes, content_type: str) -> None:
        before = stack.items()
        response = post(
            f"/hooks/zapier/{hook_id}",
            hook_id,
            body,
            content_type,
            authorization=f"Bearer {connection['secret']}",
        )
        assert response["statusCode"] in (200, 400, 404, 413, 422), response
        if response["statusCode"] >= 400:
            error_code(response)
            assert stack.items() == before

    holds()


@pytest.mark.parametrize("source", sorted(VENDORS))
def test_an_unsigned_call_is_refused_before_its_body_is_read(
    stack: AwsStack, hooks: dict[str, Any], source: str
) -> None:
    hook_id = hook_id_of(hooks[source])

    @settings(FUZZ, max_examples=6)
    @given(body=BODIES, content_type=CONTENT_TYPES)
    def holds(body: bytes, content_type: str) -> None:
        before = stack.items()
        response = post(f"/hooks/{source}/{hook_id}", hook_id, body, content_type)
        assert response["statusCode"] in (401, 403), response
        error_code(response)
        assert stack.items() == before

    holds()
