"""One adapter per system that owns the truth. Imported lazily: a call loads only its own vendor."""

from __future__ import annotations

from importlib import import_module
from typing import get_args

from referral_engine.domain.models import Source
from referral_engine.domain.webhooks import VendorAdapter

_ADAPTERS: dict[str, str] = {
    "hubspot": "referral_engine.vendors.hubspot:HubSpotAdapter",
    "salesforce": "referral_engine.vendors.salesforce:SalesforceAdapter",
    "pipedrive": "referral_engine.vendors.pipedrive:PipedriveAdapter",
    "zoho": "referral_engine.vendors.zoho:ZohoAdapter",
    "intercom": "referral_engine.vendors.intercom:IntercomAdapter",
    "stripe": "referral_engine.vendors.stripe:StripeAdapter",
    "zapier": "referral_engine.vendors.automation:ZapierAdapter",
    "make": "referral_engine.vendors.automation:MakeAdapter",
}
SOURCES: tuple[str, ...] = get_args(Source)

# The vendors that deliver a call again when it is answered 5xx or 429 (or times out): HubSpot (retries
# for up to 3 days), Salesforce outbound messages (24 hours), Pipedrive (retries, then bans), Intercom
# (once, a minute later) and Stripe (3 days). Zoho CRM only records a failed webhook, and a Zap's or a
# Make scenario's HTTP step stops with an error (Zapier's Autoreplay is an option of paid plans): when
# their signal cannot be stored, the engine parks it in the exceptions queue and answers as stored.
REDELIVERS: frozenset[str] = frozenset({"hubspot", "salesforce", "pipedrive", "intercom", "stripe"})


class UnknownSource(LookupError):
    pass


def available() -> list[str]:
    """The sources whose adapter exists in this build."""
    found = []
    for source in SOURCES:
        try:
            adapter_for(source)
        except UnknownSource:
            continue
        found.append(source)
    return found


def adapter_for(source: str) -> VendorAdapter:
    target = _ADAPTERS.get(source)
    if target is None:
        raise UnknownSource(source)
    module_name, class_name = target.split(":")
    try:
        module = import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name == module_name:
            raise UnknownSource(source) from None
        raise
    adapter: VendorAdapter = getattr(module, class_name)()
    return adapter
