"""A vendor's call to a connection's hook URL, built from the real samples in events/vendors/ and signed or
authenticated as that vendor does it — the same construction as tests/integration/test_vendor_<source>.py,
for callers that send it over HTTP (the e2e tier).

Each builder takes the connection's hook URL, its secret and settings, who the call is about (`Match`)
and an event id, and returns the exact body bytes, the headers and the query string to POST. The event
id goes where the vendor carries one (HubSpot's `eventId`, Salesforce's notification `Id`, Intercom's
and Stripe's event `id`, Pipedrive's `meta.id`, the automations' `event_id`); Pipedrive and Zoho dedupe
on the record and its milestone, so there it changes nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, quote, urlencode

import stripe
from hubspot.utils.signature import Signature  # type: ignore[import-untyped]

SAMPLES = Path(__file__).resolve().parents[2] / "events" / "vendors"


class Match(NamedTuple):
    """Who the call is about: the id the vendor knows the referred person by, their code and email."""

    external_id: str
    referral_code: str
    email: str


class VendorCall(NamedTuple):
    body: bytes
    headers: dict[str, str]
    query: str = ""


Builder = Callable[[str, str, dict[str, Any], Match, str], VendorCall]


def _sample(source: str, name: str) -> str:
    return (SAMPLES / source / name).read_text()


def _compact(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


# --------------------------------------------------------------------------------------------- HubSpot


def hubspot(hook_url: str, secret: str, settings: dict[str, Any], match: Match, event_id: str) -> VendorCall:
    """An app webhook batch: the contact (`match.external_id`) became a customer; signature v3 over the
    exact hook URL, made by HubSpot's own SDK."""
    template = json.loads(_sample("hubspot", "app_webhook_contact_customer.json"))[0]
    now_ms = int(time.time() * 1000)
    event = {
        **template,
        "eventId": zlib.crc32(event_id.encode()),
        "occurredAt": now_ms - 2000,
        "subscriptionType": "contact.propertyChange",
        "objectId": int(match.external_id),
        "propertyName": "lifecyclestage",
        "propertyValue": "customer",
    }
    body = _compact([event])
    timestamp = str(now_ms - 1000)
    signature = Signature.get_signature(secret, body.decode(), "v3", hook_url, "POST", timestamp)
    headers = {
        "content-type": "application/json",
        "x-hubspot-signature-v3": signature,
        "x-hubspot-request-timestamp": timestamp,
        "x-hubspot-signature-version": "v3",
        "user-agent": "HubSpot Connect 2.0 (http://dev.hubspot.com/) - WebhooksExecutorDaemon-executor",
    }
    return VendorCall(body, headers)


# ------------------------------------------------------------------------------------------ Salesforce

SALESFORCE_NOTIFICATION = "04l5e00000Gx7QzAAJ"  # the sample's notification id


def salesforce(
    hook_url: str, secret: str, settings: dict[str, Any], match: Match, event_id: str
) -> VendorCall:
    """An Outbound Message (SOAP) for the won opportunity (`match.external_id`), posted to the endpoint
    URL the customer pasted: the hook URL with `?secret=…`."""
    body = (
        _sample("salesforce", "outbound_message_opportunity.xml")
        .replace(f"<Id>{SALESFORCE_NOTIFICATION}</Id>", f"<Id>{event_id}</Id>")
        .replace("0065e00000HkT9qAAF", match.external_id)
        .replace("00D5e000000KQ2eEAG", str(settings["organization_id"]))
    )
    headers = {"content-type": "text/xml; charset=utf-8", "soapaction": '""'}
    return VendorCall(body.encode(), headers, f"secret={quote(secret, safe='')}")


# ------------------------------------------------------------------------------------------- Pipedrive


def pipedrive(
    hook_url: str, secret: str, settings: dict[str, Any], match: Match, event_id: str
) -> VendorCall:
    """A v2 "deal won" webhook for the person `match.external_id`, with the webhook's HTTP Basic auth
    (the connection's `username` setting and its secret as the password)."""
    body = json.loads(_sample("pipedrive", "deal_won_v2.json"))
    body["meta"] = {**body["meta"], "id": event_id}
    body["data"] = {**body["data"], "person_id": int(match.external_id)}
    credentials = f"{settings['username']}:{secret}".encode()
    headers = {
        "content-type": "application/json",
        "authorization": "Basic " + base64.b64encode(credentials).decode(),
    }
    return VendorCall(json.dumps(body).encode(), headers)


# ------------------------------------------------------------------------------------------------ Zoho


def zoho(hook_url: str, secret: str, settings: dict[str, Any], match: Match, event_id: str) -> VendorCall:
    """The workflow webhook's form-encoded parameters for the Closed Won deal (`match.external_id`),
    with the shared secret in the `x-referrals-secret` header."""
    params = dict(parse_qsl(_sample("zoho", "deal_closed_won.form").strip(), keep_blank_values=True))
    params.update(record_id=match.external_id, referral_code=match.referral_code, email=match.email)
    headers = {"content-type": "application/x-www-form-urlencoded", "x-referrals-secret": secret}
    return VendorCall(urlencode(params).encode(), headers)


# -------------------------------------------------------------------------------------------- Intercom


def intercom(hook_url: str, secret: str, settings: dict[str, Any], match: Match, event_id: str) -> VendorCall:
    """`contact.user.tag.created` (the contact `match.external_id` tagged "customer"), sent now and
    signed with `X-Hub-Signature` (HMAC-SHA1 of the raw body with the app's client secret)."""
    body: dict[str, Any] = json.loads(_sample("intercom", "contact.user.tag.created.json"))
    created = int(time.time()) - 3
    body["id"] = event_id
    body["created_at"] = body["first_sent_at"] = created
    item = body["data"]["item"]
    item["created_at"] = created
    item["contact"] = {**item["contact"], "id": match.external_id, "email": match.email}
    raw = json.dumps(body, indent=2).encode()
    headers = {
        "content-type": "application/json",
        "x-hub-signature": "sha1=" + hmac.new(secret.encode(), raw, hashlib.sha1).hexdigest(),
        "user-agent": "intercom-parrot-service-client/1.0",
    }
    return VendorCall(raw, headers)


# ---------------------------------------------------------------------------------------------- Stripe


def stripe_call(
    hook_url: str, secret: str, settings: dict[str, Any], match: Match, event_id: str
) -> VendorCall:
    """`invoice.paid` (USD 50.00) for the customer `match.external_id`, created now, with the
    `Stripe-Signature` header made by Stripe's own SDK."""
    return stripe_event("invoice.paid", secret, match, event_id)


def stripe_event(name: str, secret: str, match: Match, event_id: str, **fields: Any) -> VendorCall:
    """The documented sample `name` (e.g. `charge.refunded`) for the customer `match.external_id`,
    with `fields` set on its object, created now, signed by Stripe's own SDK."""
    body: dict[str, Any] = json.loads(_sample("stripe", f"{name}.json"))
    body["id"] = event_id
    body["created"] = int(time.time()) - 2
    body["data"]["object"] |= {"customer": match.external_id, **fields}
    raw = json.dumps(body, indent=2).encode()
    signature = stripe.WebhookSignature.generate_signature_header(raw.decode(), secret)
    headers = {
        "content-type": "application/json; charset=utf-8",
        "stripe-signature": signature,
        "user-agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
    }
    return VendorCall(raw, headers)


# ------------------------------------------------------------------------------------------ Zapier, Make


def automation(source: str) -> Builder:
    """A "Webhooks by Zapier" action or Make's HTTP module: JSON with the connection's secret in
    `X-Referrals-Secret`; the automation decided the milestone is reached. Its `external_id` names the
    id as stored at signup, `<source>:<id>` (`external_ids: {source: id}`)."""

    def build(
        hook_url: str, secret: str, settings: dict[str, Any], match: Match, event_id: str
    ) -> VendorCall:
        body = {
            "event_id": event_id,
            "event": "qualify",
            "external_id": f"{source}:{match.external_id}",
            "amount": "79.00",
            "currency": "USD",
        }
        headers = {"content-type": "application/json", "x-referrals-secret": secret}
        return VendorCall(_compact(body), headers)

    return build


BUILDERS: dict[str, Builder] = {
    "hubspot": hubspot,
    "salesforce": salesforce,
    "pipedrive": pipedrive,
    "zoho": zoho,
    "intercom": intercom,
    "stripe": stripe_call,
    "zapier": automation("zapier"),
    "make": automation("make"),
}


def vendor_call(
    source: str, hook_url: str, secret: str, settings: dict[str, Any], match: Match, event_id: str
) -> VendorCall:
    return BUILDERS[source](hook_url, secret, settings, match, event_id)
