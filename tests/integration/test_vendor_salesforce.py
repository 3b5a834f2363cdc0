"""Salesforce through the inbound_webhook handler: a connection made through the API, Outbound Messages
(SOAP, secret in the endpoint URL, the organization checked) and Flow HTTP callouts (JSON, secret
header) qualify the right referral once and produce its rewards; forgeries write nothing."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from support.aws import AwsStack
from support.events import json_body
from support.journey import (
    create_campaign,
    create_connection,
    enrol,
    get_referral,
    post_connection,
    run_issue_reward,
    run_qualify,
    sign_up,
    vendor_hook,
)

SAMPLES = Path(__file__).resolve().parents[2] / "events" / "vendors" / "salesforce"
ORG = "00D5e000000KQ2eEAG"
OPPORTUNITY = "0065e00000HkT9qAAF"  # the record in the samples
SOAP_HEADERS = {"content-type": "text/xml; charset=utf-8", "soapaction": '""'}
OUTBOUND = "http://soap.sforce.com/2005/09/outbound"
OPPORTUNITY_WON = {"object": "Opportunity", "field": "StageName", "value": "Closed Won"}


def sample(name: str) -> str:
    return (SAMPLES / name).read_text()


def salesforce_connection(campaign_id: str, **settings: Any) -> dict[str, Any]:
    return create_connection(
        campaign_id,
        source="salesforce",
        milestone=OPPORTUNITY_WON,
        settings={"organization_id": ORG, **settings},
    )


def outbound_message(connection: dict[str, Any], body: str, secret: str | None = None) -> dict[str, Any]:
    """Salesforce POSTs to the Endpoint URL the customer pasted: the hook URL with `?secret=…`."""
    given = connection["secret"] if secret is None else secret
    return vendor_hook(connection["hook_url"], body, SOAP_HEADERS, query=f"secret={quote(given, safe='')}")


def acknowledged(response: dict[str, Any]) -> bool:
    root = ET.fromstring(response["body"])  # noqa: S314 - our own answer
    ack = root.find(f".//{{{OUTBOUND}}}notificationsResponse/{{{OUTBOUND}}}Ack")
    return response["statusCode"] == 200 and ack is not None and ack.text == "true"


@pytest.fixture
def campaign(stack: AwsStack) -> dict[str, Any]:
    return create_campaign()


@pytest.fixture
def referral(campaign: dict[str, Any]) -> dict[str, Any]:
    """Grace signed up with her opportunity's id: the Outbound Message names that record."""
    return sign_up(enrol(campaign["id"])["code"], external_ids={"salesforce": OPPORTUNITY})


def test_a_salesforce_connection_gets_a_generated_secret_once(campaign: dict[str, Any]) -> None:
    created = salesforce_connection(campaign["id"])

    assert created["hook_url"].endswith(f"/hooks/salesforce/{created['hook_url'].rsplit('/', 1)[1]}")
    assert len(created["secret"]) >= 32
    assert created["settings"] == {"organization_id": ORG}


@pytest.mark.parametrize(
    "body",
    [
        {"source": "salesforce", "settings": {"organization_id": ORG}},
        {"source": "salesforce", "milestone": OPPORTUNITY_WON},
        {"source": "salesforce", "milestone": OPPORTUNITY_WON, "settings": {"organization_id": "00Dnope"}},
        {"source": "salesforce", "milestone": {"stage": "won"}, "settings": {"organization_id": ORG}},
    ],
)
def test_a_salesforce_connection_without_org_or_milestone_is_refused(
    stack: AwsStack, campaign: dict[str, Any], body: dict[str, Any]
) -> None:
    before = stack.items()
    response = post_connection(campaign["id"], body)
    assert response["statusCode"] == 400
    assert stack.items() == before


def test_an_outbound_message_qualifies_the_referral_once_and_rewards_it(
    stack: AwsStack, campaign: dict[str, Any], referral: dict[str, Any]
) -> None:
    connection = salesforce_connection(campaign["id"])

    first = outbound_message(connection, sample("outbound_message_opportunity.xml"))
    redelivered = outbound_message(connection, sample("outbound_message_opportunity.xml"))
    qualified = run_qualify(stack)
    rewarded = run_issue_reward(stack)

    assert acknowledged(first)
    assert acknowledged(redelivered)  # else Salesforce would keep redelivering for 24 hours
    assert first["headers"]["Content-Type"].startswith("text/xml")
    [signal] = stack.items_of("signal")
    assert signal["event_id"] == "04l5e00000Gx7QzAAJ"
    assert qualified["batchItemFailures"] == []
    assert len(rewarded) == 1
    shown = json_body(get_referral(referral["id"]))
    assert shown["status"] == "rewarded"
    assert sorted(r["recipient"] for r in shown["rewards"]) == ["advocate", "friend"]
    assert stack.exceptions() == []


def test_a_redelivery_after_qualification_changes_nothing(
    stack: AwsStack, campaign: dict[str, Any], referral: dict[str, Any]
) -> None:
    connection = salesforce_connection(campaign["id"])
    outbound_message(connection, sample("outbound_message_opportunity.xml"))
    run_qualify(stack)
    run_issue_reward(stack)
    before = stack.items()

    again = outbound_message(connection, sample("outbound_message_opportunity.xml"))

    assert acknowledged(again)
    assert stack.items() == before
    assert stack.stream_batch()["Records"] == []  # nothing for qualify to see


def test_a_lead_outbound_message_matches_by_email_and_ignores_the_lead_still_open(
    stack: AwsStack, campaign: dict[str, Any]
) -> None:
    """The leads in the sample: Grace (converted, matched by her Email) and Charles (still working)."""
    grace = sign_up(enrol(campaign["id"])["code"], email="grace@example.org")
    connection = create_connection(
        campaign["id"],
        source="salesforce",
        milestone={"object": "Lead", "field": "Status", "value": "Closed - Converted"},
        settings={"organization_id": ORG[:15], "code_field": "Referral_Code__c"},
    )

    response = outbound_message(connection, sample("outbound_message_leads.xml"))
    run_qualify(stack)
    run_issue_reward(stack)

    assert acknowledged(response)
    assert [s["event_id"] for s in stack.items_of("signal")] == ["04l5e00000Gx7R0AAJ"]
    assert json_body(get_referral(grace["id"]))["status"] == "rewarded"


def test_an_outbound_message_of_another_object_is_acknowledged_and_stores_nothing(
    stack: AwsStack, campaign: dict[str, Any], referral: dict[str, Any]
) -> None:
    connection = salesforce_connection(campaign["id"])
    before = stack.items()

    response = outbound_message(connection, sample("outbound_message_leads.xml"))

    assert acknowledged(response)
    assert stack.items() == before


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"org": "00D5e000000KQ3eEAG"}, 403, "forbidden"),
        ({"secret": "wrong-secret-value-0123456789"}, 401, "signature_invalid"),
        ({"secret": ""}, 401, "signature_invalid"),
    ],
)
def test_forged_outbound_messages_are_refused_and_write_nothing(
    stack: AwsStack,
    campaign: dict[str, Any],
    referral: dict[str, Any],
    change: dict[str, str],
    status: int,
    code: str,
) -> None:
    connection = salesforce_connection(campaign["id"])
    body = sample("outbound_message_opportunity.xml").replace(ORG, change.get("org", ORG))
    before = stack.items()

    response = outbound_message(connection, body, secret=change.get("secret"))

    assert response["statusCode"] == status
    assert json_body(response)["error"]["code"] == code
    assert stack.items() == before
    assert json_body(get_referral(referral["id"]))["status"] == "pending"


def test_an_outbound_message_without_the_secret_parameter_is_refused(
    stack: AwsStack, campaign: dict[str, Any], referral: dict[str, Any]
) -> None:
    connection = salesforce_connection(campaign["id"])
    before = stack.items()

    response = vendor_hook(connection["hook_url"], sample("outbound_message_opportunity.xml"), SOAP_HEADERS)

    assert response["statusCode"] == 401
    assert stack.items() == before


def test_an_outbound_message_with_a_doctype_is_refused_and_writes_nothing(
    stack: AwsStack, campaign: dict[str, Any], referral: dict[str, Any]
) -> None:
    connection = salesforce_connection(campaign["id"])
    body = sample("outbound_message_opportunity.xml").replace(
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
    )
    before = stack.items()

    response = outbound_message(connection, body)

    assert response["statusCode"] == 400
    assert json_body(response)["error"]["code"] == "malformed_payload"
    assert stack.items() == before


def test_a_flow_callout_qualifies_the_referral(
    stack: AwsStack, campaign: dict[str, Any], referral: dict[str, Any]
) -> None:
    connection = salesforce_connection(campaign["id"])
    headers = {"x-referrals-secret": connection["secret"]}

    first = vendor_hook(connection["hook_url"], sample("flow_http_callout.json"), headers)
    rerun = vendor_hook(connection["hook_url"], sample("flow_http_callout.json"), headers)
    run_qualify(stack)
    run_issue_reward(stack)

    assert (first["statusCode"], json_body(first)) == (200, {"accepted": 1, "ignored": 0})
    assert rerun["statusCode"] == 200
    assert [s["event_id"] for s in stack.items_of("signal")] == [f"{OPPORTUNITY}:Closed Won@1200USD"]
    assert json_body(get_referral(referral["id"]))["status"] == "rewarded"


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 401), ({"x-referrals-secret": "wrong-secret-value-0123456789"}, 401)],
)
def test_forged_flow_callouts_are_refused_and_write_nothing(
    stack: AwsStack,
    campaign: dict[str, Any],
    referral: dict[str, Any],
    headers: dict[str, str],
    status: int,
) -> None:
    connection = salesforce_connection(campaign["id"])
    before = stack.items()

    response = vendor_hook(connection["hook_url"], sample("flow_http_callout.json"), headers)

    assert response["statusCode"] == status
    assert stack.items() == before


def test_a_flow_callout_from_another_organization_is_forbidden(
    stack: AwsStack, campaign: dict[str, Any], referral: dict[str, Any]
) -> None:
    connection = salesforce_connection(campaign["id"])
    body = json.dumps(
        {**json.loads(sample("flow_http_callout.json")), "organization_id": "00D5e000000KQ3eEAG"}
    )
    before = stack.items()

    response = vendor_hook(connection["hook_url"], body, {"x-referrals-secret": connection["secret"]})

    assert response["statusCode"] == 403
    assert stack.items() == before
