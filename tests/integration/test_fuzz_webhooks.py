"""Hostile bodies for the webhook routes (hypothesis): bytes that are not UTF-8, deeply nested JSON,
huge numbers, odd content types, and each vendor's own samples with parts replaced. The generic hook
gets them as they are; every vendor gets them correctly signed (or with its secret), so that they
reach its parser behind the authentication: a 4xx error object, or the vendor's own reply with at
most the signals it counts stored — never a 5xx. Every vendor whose signature is missing refuses with
a 401/403 before it reads the body, and a refused call leaves the table as it was.

One stack for the module (a refused call changes nothing, an accepted one only adds signals), the
table's changes read from its stream rather than by scans."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode
from xml.sax.saxutils import escape

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


def post(
    path: str, hook_id: str, body: bytes, content_type: str, query: str = "", **headers: str
) -> dict[str, Any]:
    event = http_event(
        "inbound_webhook/generic_post_json",
        path=path,
        path_parameters={"hook_id": hook_id},
        query=query,
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


@pytest.fixture(scope="module")
def hooks(module_stack: AwsStack) -> dict[str, Any]:
    campaign = create_campaign()
    connections = {
        source: create_connection(campaign["id"], source=source, **body) for source, body in VENDORS.items()
    }
    return {"generic": hook_id_of(campaign), **connections}


@pytest.fixture
def stack(module_stack: AwsStack, hooks: dict[str, Any]) -> AwsStack:
    module_stack.changes()  # from here on, what the test's calls change
    return module_stack


def test_the_generic_hook_answers_any_body_with_a_4xx_or_stores_it(
    stack: AwsStack, hooks: dict[str, Any]
) -> None:
    hook_id = hooks["generic"]

    @FUZZ
    @given(body=BODIES, content_type=CONTENT_TYPES)
    def holds(body: bytes, content_type: str) -> None:
        response = post(f"/hooks/generic/{hook_id}", hook_id, body, content_type)
        assert response["statusCode"] in (202, 400, 404, 413, 415, 422), response
        changes = stack.changes()
        if response["statusCode"] >= 400:
            error_code(response)
            assert changes == {}

    holds()


@pytest.mark.parametrize("source", sorted(VENDORS))
def test_an_unsigned_call_is_refused_before_its_body_is_read(
    stack: AwsStack, hooks: dict[str, Any], source: str
) -> None:
    hook_id = hook_id_of(hooks[source])

    @settings(FUZZ, max_examples=6)
    @given(body=BODIES, content_type=CONTENT_TYPES)
    def holds(body: bytes, content_type: str) -> None:
        response = post(f"/hooks/{source}/{hook_id}", hook_id, body, content_type)
        assert response["statusCode"] in (401, 403), response
        error_code(response)
        assert stack.changes() == {}

    holds()


# ---------------------------------------------------------------------- signed, past authentication

SAMPLES = Path(__file__).resolve().parents[2] / "events" / "vendors"
Signer = Callable[[bytes, str], tuple[dict[str, str], str]]  # body, secret → headers, query string


def _hmac(secret: str, message: bytes, digest: Any) -> bytes:
    return hmac.new(secret.encode(), message, digest).digest()


SIGNERS: dict[str, Signer] = {
    "hubspot": lambda body, secret: (
        {
            "x-hubspot-signature": hashlib.sha256(secret.encode() + body).hexdigest(),
            "x-hubspot-signature-version": "v1",
        },
        "",
    ),
    "intercom": lambda body, secret: (
        {"x-hub-signature": "sha1=" + _hmac(secret, body, hashlib.sha1).hex()},
        "",
    ),
    "stripe": lambda body, secret: (
        {
            "stripe-signature": f"t={int(time.time())},v1="
            + _hmac(secret, f"{int(time.time())}.".encode() + body, hashlib.sha256).hex()
        },
        "",
    ),
    "pipedrive": lambda body, secret: (
        {"authorization": "Basic " + base64.b64encode(f"referrals:{secret}".encode()).decode()},
        "",
    ),
    # A Flow callout proves itself by the header, an Outbound Message by the URL's parameter.
    "salesforce": lambda body, secret: ({"x-referrals-secret": secret}, urlencode({"secret": secret})),
    "zoho": lambda body, secret: ({"x-referrals-secret": secret}, ""),
    "zapier": lambda body, secret: ({"x-referrals-secret": secret}, ""),
    "make": lambda body, secret: ({"x-referrals-secret": secret}, ""),
}
CONTENT_TYPE_OF = {".json": "application/json", ".xml": "text/xml; charset=utf-8"}
CONTENT_TYPE_OF[".form"] = "application/x-www-form-urlencoded"


def samples(source: str) -> list[tuple[str, str]]:
    """(content type, text) of each of the vendor's samples in events/vendors/<source>/."""
    return [
        (CONTENT_TYPE_OF[path.suffix], path.read_text())
        for path in sorted((SAMPLES / source).iterdir())
        if path.suffix in CONTENT_TYPE_OF
    ]


def paths_in(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    children = (
        value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    )
    for name, child in children:
        found += paths_in(child, (*prefix, name))
    return found


def replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = replaced(value[path[0]], path[1:], new)
    return copy


def fresh(document: Any) -> Any:
    """A sample sent now: Intercom refuses a notification created more than a few minutes ago."""
    if isinstance(document, dict) and "created_at" in document:
        return {**document, "created_at": int(time.time()), "first_sent_at": int(time.time())}
    return document


@st.composite
def mutated_sample(draw: st.DrawFn, source: str) -> tuple[bytes, str]:
    """One of the vendor's samples with one to three parts replaced by anything: a JSON value at any
    path, the text of an XML element (escaped or raw), a form parameter's value."""
    content_type, text = draw(st.sampled_from(samples(source)))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        if content_type == "application/json":
            document = fresh(json.loads(text))
            path = draw(st.sampled_from(paths_in(document)))
            text = json.dumps(replaced(document, path, draw(JSON_VALUES)))
        elif content_type.startswith("text/xml"):
            spans = [m.span(1) for m in re.finditer(r">([^<]*)<", text)]
            start, end = draw(st.sampled_from(spans))
            new = draw(st.text(max_size=30))
            text = text[:start] + (escape(new) if draw(st.booleans()) else new) + text[end:]
        else:
            pairs = parse_qsl(text.strip(), keep_blank_values=True)
            index = draw(st.integers(min_value=0, max_value=len(pairs) - 1))
            pairs[index] = (pairs[index][0], draw(st.text(max_size=30)))
            text = urlencode(pairs)
    return text.encode(), content_type


def signed_bodies(source: str) -> st.SearchStrategy[tuple[bytes, str]]:
    return mutated_sample(source) | st.tuples(BODIES, CONTENT_TYPES)


def assert_the_vendors_reply_or_a_refusal(source: str, response: dict[str, Any], stack: AwsStack) -> None:
    """A 4xx error object and no change, or a 200 with the reply the vendor expects and at most the
    signals it counts newly stored (fewer when one repeats an earlier example's event)."""
    status, changes = response["statusCode"], stack.changes()
    assert status in (200, 400, 401, 403, 404, 409, 413, 415, 422), response
    if status >= 400:
        error_code(response)
        assert changes == {}, changes
        return
    assert all(pk.startswith("SIGNAL#") and before is None for (pk, _), (before, _) in changes.items())
    if response["body"].startswith("<"):
        assert source == "salesforce", response
        assert "notificationsResponse" in response["body"], response
        return
    reply = json.loads(response["body"])
    counted = reply.get("accepted", reply.get("signals"))
    assert isinstance(counted, int), reply
    assert len(changes) <= counted, (reply, changes)


@pytest.mark.parametrize("source", sorted(VENDORS))
def test_a_signed_call_reaches_the_parser_and_gets_the_vendors_reply_or_a_4xx(
    stack: AwsStack, hooks: dict[str, Any], source: str
) -> None:
    connection = hooks[source]
    hook_id = hook_id_of(connection)
    secret = VENDORS[source].get("secret") or connection["secret"]

    @settings(FUZZ, max_examples=12)
    @given(body_and_type=signed_bodies(source))
    def holds(body_and_type: tuple[bytes, str]) -> None:
        body, content_type = body_and_type
        headers, query = SIGNERS[source](body, secret)
        response = post(f"/hooks/{source}/{hook_id}", hook_id, body, content_type, query, **headers)
        assert_the_vendors_reply_or_a_refusal(source, response, stack)

    holds()


@pytest.mark.parametrize("amount", ["1e400", "1" * 40, "0." + "1" * 40, "1E-200", "1000000000000.01"])
def test_an_amount_no_purchase_has_is_a_400_that_stores_nothing(
    stack: AwsStack, hooks: dict[str, Any], amount: str
) -> None:
    """Found by the signed fuzzing: an automation's amount past what DynamoDB stores was a 500."""
    connection = hooks["zapier"]
    hook_id = hook_id_of(connection)
    body = f'{{"event_id": "e-{amount[:20]}", "code": "ABCD2345", "amount": {amount}}}'.encode()
    headers, _ = SIGNERS["zapier"](body, connection["secret"])

    response = post(f"/hooks/zapier/{hook_id}", hook_id, body, "application/json", **headers)

    assert (response["statusCode"], error_code(response)) == (400, "malformed_payload")
    assert stack.changes() == {}
