"""Every vendor connection the e2e tier drives over HTTP: its milestone, settings, secret and the reply it
expects (tests/e2e/test_vendors.py, test_chaos.py)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from support.vendor_calls import VendorCall

OUTBOUND = "http://soap.sforce.com/2005/09/outbound"


Reply = Callable[[requests.Response], bool]


def json_reply(expected: dict[str, Any]) -> Reply:
    def check(response: requests.Response) -> bool:
        return bool(response.json() == expected)

    return check


def accepted_one(response: requests.Response) -> bool:
    return bool(response.json() == {"accepted": 1})


def soap_ack(response: requests.Response) -> bool:
    root = ET.fromstring(response.content)  # noqa: S314 - the stack's own answer
    ack = root.find(f".//{{{OUTBOUND}}}notificationsResponse/{{{OUTBOUND}}}Ack")
    return response.headers["Content-Type"].startswith("text/xml") and ack is not None and ack.text == "true"


@dataclass(frozen=True)
class Source:
    name: str
    external_id: str
    milestone: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    secret: str | None = None  # the vendor's own secret; None: the stack generates one
    reply: Reply = accepted_one
    # Whether the vendor delivers the call again when answered 5xx/429 (vendors.REDELIVERS says why)
    redelivers: bool = True


SOURCES = [
    Source(
        "hubspot",
        "1246965",
        {"object": "contact", "property": "lifecyclestage", "value": "customer"},
        secret="3c9a1f5e-2b7d-4e8a-9c61-0d4f2e7b8a15",
        reply=json_reply({"accepted": 1, "ignored": 0}),
    ),
    Source(
        "salesforce",
        "0065e00000HkT9qAAF",
        {"object": "Opportunity", "field": "StageName", "value": "Closed Won"},
        {"organization_id": "00D5e000000KQ2eEAG"},
        reply=soap_ack,
    ),
    Source("pipedrive", "3311", {"status": "won"}, {"username": "referrals"}),
    Source("zoho", "3652397000001234567", {"field": "Stage", "value": "Closed Won"}, redelivers=False),
    Source(
        "intercom",
        "6762f0dd1bb69f9f2193bb83",
        {"tag": "customer"},
        secret="5f1c0e7a-intercom-app-client-secret-93bd",
        reply=json_reply({"accepted": 1, "ignored": 0}),
    ),
    Source(
        "stripe",
        "cus_NeZwdNtLEOXuvB",
        {"events": ["invoice.paid"], "min_amount": "50.00", "currency": "USD"},
        secret="whsec_8c1f0e7a2b3d4c5e6f708192a3b4c5d6",
        reply=json_reply({"received": True, "signals": 1, "ignored": []}),
    ),
    Source("zapier", "zap-customer-4021", redelivers=False),
    Source("make", "make-customer-4021", redelivers=False),
]


def send(url: str, call: VendorCall, timeout: float = 10) -> requests.Response:
    target = f"{url}?{call.query}" if call.query else url
    return requests.post(target, data=call.body, headers=call.headers, timeout=timeout)
