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
