"""Salesforce: Outbound Messages (SOAP, secret in the URL, organization checked, Ack answered) and Flow
HTTP callouts (JSON, secret in a header), normalised to signals when a record reaches the milestone."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from referral_engine.domain.models import Connection, SignalMatch
from referral_engine.domain.records import replace
from referral_engine.domain.webhooks import (
    InboundRequest,
    MalformedWebhook,
    Normalised,
    WebhookForbidden,
    WebhookRefused,
)
from referral_engine.vendors import adapter_for, available
from referral_engine.vendors.salesforce import (
    ACK,
    SalesforceAdapter,
    parse_outbound_message,
)

SAMPLES = Path(__file__).resolve().parents[3] / "events" / "vendors" / "salesforce"
SECRET = "k3Jd9-salesforce-connection-secret-0123456789"
ORG = "00D5e000000KQ2eEAG"
RECEIVED = datetime(2026, 11, 23, 20, 15, 4, tzinfo=UTC)
OPPORTUNITY_WON = {"object": "Opportunity", "field": "StageName", "value": "Closed Won"}
LEAD_CONVERTED = {"object": "Lead", "field": "Status", "value": "Closed - Converted"}
SOAP_HEADERS = {"content-type": "text/xml; charset=utf-8", "soapaction": '""'}
ENVELOPE = "http://schemas.xmlsoap.org/soap/envelope/"
OUTBOUND = "http://soap.sforce.com/2005/09/outbound"


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def connection(milestone: dict[str, Any] | None = None, **settings: Any) -> Connection:
    return Connection(
        id="con_01sf",
        campaign_id="cmp_01sf",
        source="salesforce",
        hook_id="Q9fXw2LmN5pK7wZs1cDfXq3v",
        milestone=OPPORTUNITY_WON if milestone is None else milestone,
        settings={"organization_id": ORG, **settings},
        created_at=RECEIVED,
        secret_rotated_at=RECEIVED,
    )


def soap(body: bytes, query: dict[str, str] | None = None) -> InboundRequest:
    query = {"secret": SECRET} if query is None else query
    url = "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/hooks/salesforce/Q9fXw2LmN5pK7wZs1cDfXq3v"
    return InboundRequest(
        method="POST",
        url=url + "".join(f"?{k}={v}" for k, v in query.items()),
        headers=SOAP_HEADERS,
        query=query,
        body=body,
        received_at=RECEIVED,
    )


def flow(body: dict[str, Any] | bytes, headers: dict[str, str] | None = None) -> InboundRequest:
    return InboundRequest(
        method="POST",
        url="https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/hooks/salesforce/Q9fXw2LmN5pK7wZs1cDfXq3v",
        headers={"content-type": "application/json", "x-referrals-secret": SECRET}
        if headers is None
        else headers,
        query={},
        body=body if isinstance(body, bytes) else json.dumps(body).encode(),
        received_at=RECEIVED,
    )


def notifications(count: int, org: str = ORG, stage: str = "Closed Won") -> bytes:
    """An Outbound Message of `count` Opportunity notifications, shaped like the sample."""
    items = "".join(
        f"<Notification><Id>04l5e00000G{i:07d}</Id>"
        '<sObject xsi:type="sf:Opportunity" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">'
        f"<sf:Id>0065e00000H{i:07d}</sf:Id><sf:StageName>{stage}</sf:StageName>"
        "</sObject></Notification>"
        for i in range(count)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{ENVELOPE}" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>'
        f'<notifications xmlns="{OUTBOUND}"><OrganizationId>{org}</OrganizationId>'
        '<ActionId>04k5e000000CaRkAAK</ActionId><SessionId xsi:nil="true"/>'
        "<EnterpriseUrl>https://acme.my.salesforce.com/services/Soap/c/62.0/00D5e000000KQ2e</EnterpriseUrl>"
        "<PartnerUrl>https://acme.my.salesforce.com/services/Soap/u/62.0/00D5e000000KQ2e</PartnerUrl>"
        f"{items}</notifications></soapenv:Body></soapenv:Envelope>"
    ).encode()


def receive(adapter: SalesforceAdapter, request: InboundRequest, conn: Connection) -> Normalised:
    """What WebhookService does with an adapter: verify, then normalise."""
    adapter.verify(request, SECRET, conn)
    return adapter.normalise(request, conn)


@pytest.fixture
def adapter() -> SalesforceAdapter:
    return SalesforceAdapter()


# ----------------------------------------------------------------------------- registry and connection


def test_the_registry_finds_the_salesforce_adapter() -> None:
    assert isinstance(adapter_for("salesforce"), SalesforceAdapter)
    assert "salesforce" in available()


@pytest.mark.parametrize(
    ("milestone", "settings"),
    [
        (OPPORTUNITY_WON, {"organization_id": ORG}),
        (LEAD_CONVERTED, {"organization_id": ORG[:15], "code_field": "Referral_Code__c"}),
        (
            {"object": "Lead", "field": "IsConverted", "value": True},
            {"organization_id": ORG, "email_field": "Contact_Email__c", "currency": "EUR"},
        ),
    ],
)
def test_sensible_connections_are_accepted(
    adapter: SalesforceAdapter, milestone: dict[str, Any], settings: dict[str, Any]
) -> None:
    adapter.validate_connection(milestone, settings)


@pytest.mark.parametrize(
    ("milestone", "settings", "complaint"),
    [
        ({}, {"organization_id": ORG}, "needs a milestone"),
        ({"object": "Opportunity", "field": "StageName"}, {"organization_id": ORG}, "milestone"),
        ({**OPPORTUNITY_WON, "stage": "won"}, {"organization_id": ORG}, "milestone"),
        ({**OPPORTUNITY_WON, "field": "Stage Name"}, {"organization_id": ORG}, "field: "),
        ({**OPPORTUNITY_WON, "value": "  "}, {"organization_id": ORG}, "value: "),
        (OPPORTUNITY_WON, {}, "organization_id"),
        (OPPORTUNITY_WON, {"organization_id": "0015e00000ZkM3hAAF"}, "organization_id"),
        (OPPORTUNITY_WON, {"organization_id": ORG, "code_field": "Referral Code"}, "code_field"),
        (OPPORTUNITY_WON, {"organization_id": ORG, "secret": "in the settings"}, "secret"),
    ],
)
def test_connections_that_make_no_sense_are_refused(
    adapter: SalesforceAdapter, milestone: dict[str, Any], settings: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(ValueError, match=complaint):
        adapter.validate_connection(milestone, settings)


# ----------------------------------------------------------------------------- Outbound Messages


def test_the_documented_outbound_message_parses() -> None:
    message = parse_outbound_message(sample("outbound_message_opportunity.xml"))

    assert (message.organization_id, message.action_id) == (ORG, "04k5e000000CaRkAAK")
    [notification] = message.notifications
    assert (notification.id, notification.object) == ("04l5e00000Gx7QzAAJ", "Opportunity")
    assert notification.fields["Id"] == "0065e00000HkT9qAAF"
    assert notification.fields["StageName"] == "Closed Won"
    assert notification.fields["Amount"] == "1200.0"


def test_an_opportunity_that_closed_won_becomes_one_signal(adapter: SalesforceAdapter) -> None:
    conn = connection(code_field="Referral_Code__c", email_field="Contact_Email__c", currency="USD")

    normalised = receive(adapter, soap(sample("outbound_message_opportunity.xml")), conn)

    [signal] = normalised.signals
    assert (signal.source, signal.event_id, signal.campaign_id) == (
        "salesforce",
        "04l5e00000Gx7QzAAJ",
        "cmp_01sf",
    )
    assert signal.match == SignalMatch(
        external_id="salesforce:0065e00000HkT9qAAF", code="p4wz8hk2mq7x", email="grace@example.org"
    )
    assert (signal.amount, signal.currency) == (Decimal("1200.0"), "USD")
    assert signal.occurred_at == datetime(2026, 11, 23, 20, 14, 58, tzinfo=UTC)
    assert signal.received_at == RECEIVED
    assert normalised.ignored == []


def test_without_a_currency_the_amount_carries_none(adapter: SalesforceAdapter) -> None:
    [signal] = receive(adapter, soap(sample("outbound_message_opportunity.xml")), connection()).signals
    assert (signal.amount, signal.currency) == (Decimal("1200.0"), None)
    assert signal.match.email is None  # Opportunity has no Email field: map one with `email_field`


def test_only_the_lead_at_the_milestone_counts_and_the_other_is_acknowledged(
    adapter: SalesforceAdapter,
) -> None:
    conn = connection(LEAD_CONVERTED, code_field="Referral_Code__c")
    normalised = receive(adapter, soap(sample("outbound_message_leads.xml")), conn)

    [signal] = normalised.signals
    assert signal.event_id == "04l5e00000Gx7R0AAJ"
    assert signal.match == SignalMatch(external_id="salesforce:00Q5e00000BqW3rEAF", email="grace@example.org")
    assert normalised.ignored == ["04l5e00000Gx7R1AAJ: Status is not 'Closed - Converted'"]
    assert adapter.reply(normalised).body == ACK


def test_records_of_another_object_are_ignored_but_acknowledged(adapter: SalesforceAdapter) -> None:
    normalised = receive(adapter, soap(sample("outbound_message_leads.xml")), connection(OPPORTUNITY_WON))

    assert normalised.signals == []
    assert len(normalised.ignored) == 2
    assert all("a Lead, not a Opportunity" in reason for reason in normalised.ignored)
    reply = adapter.reply(normalised)
    assert (reply.status, reply.body) == (200, ACK)


def test_the_milestone_value_is_compared_without_regard_to_case(adapter: SalesforceAdapter) -> None:
    body = notifications(1, stage="closed won")
    assert len(receive(adapter, soap(body), connection()).signals) == 1


def test_a_batch_of_100_notifications_gives_100_signals(adapter: SalesforceAdapter) -> None:
    normalised = receive(adapter, soap(notifications(100)), connection())

    assert len(normalised.signals) == 100
    assert len({signal.event_id for signal in normalised.signals}) == 100
    assert {signal.match.external_id for signal in normalised.signals} == {
        f"salesforce:0065e00000H{i:07d}" for i in range(100)
    }


def test_more_than_100_notifications_is_not_an_outbound_message(adapter: SalesforceAdapter) -> None:
    with pytest.raises(MalformedWebhook, match="more than 100"):
        receive(adapter, soap(notifications(101)), connection())


def test_a_redelivery_is_the_same_event(adapter: SalesforceAdapter) -> None:
    """Salesforce repeats the notification Id when it redelivers: the signal dedupes on it."""
    body = sample("outbound_message_opportunity.xml")
    first = receive(adapter, soap(body), connection()).signals
    again = receive(SalesforceAdapter(), soap(body), connection()).signals
    assert [s.dedupe_key for s in first] == [s.dedupe_key for s in again]


def test_a_record_deleted_before_delivery_is_ignored(adapter: SalesforceAdapter) -> None:
    body = notifications(1).replace(
        b"<sf:Id>0065e00000H0000000</sf:Id><sf:StageName>Closed Won</sf:StageName>", b""
    )
    normalised = receive(adapter, soap(body), connection())
    assert normalised.signals == []
    assert normalised.ignored == ["04l5e00000G0000000: no record data (deleted before delivery?)"]


def test_an_invalid_email_does_not_refuse_the_batch(adapter: SalesforceAdapter) -> None:
    body = sample("outbound_message_leads.xml").replace(b"grace@example.org", b"grace at example")
    [signal] = receive(adapter, soap(body), connection(LEAD_CONVERTED)).signals
    assert signal.match == SignalMatch(external_id="salesforce:00Q5e00000BqW3rEAF")


@pytest.mark.parametrize("configured", [ORG, ORG[:15]])
def test_the_organization_is_compared_on_its_15_character_form(
    adapter: SalesforceAdapter, configured: str
) -> None:
    conn = replace(connection(), **{"settings": {"organization_id": configured}})
    adapter.verify(soap(sample("outbound_message_opportunity.xml")), SECRET, conn)


@pytest.mark.parametrize(
    "org",
    [
        "00D5e000000KQ3eEAG",  # another organization
        "00D5E000000KQ2EEAG",  # ids are case-sensitive: this one is another organization too
        "",
        "not-an-org",
    ],
)
def test_another_organization_is_forbidden(adapter: SalesforceAdapter, org: str) -> None:
    with pytest.raises(WebhookForbidden):
        adapter.verify(soap(notifications(1, org=org)), SECRET, connection())


@pytest.mark.parametrize(
    "query",
    [{}, {"secret": ""}, {"secret": "wrong-secret-value"}, {"secret": SECRET[:-1]}, {"token": SECRET}],
)
def test_an_outbound_message_without_the_secret_in_its_url_is_refused(
    adapter: SalesforceAdapter, query: dict[str, str]
) -> None:
    with pytest.raises(WebhookRefused, match="secret"):
        adapter.verify(soap(sample("outbound_message_opportunity.xml"), query), SECRET, connection())


def test_the_secret_in_a_header_does_not_open_an_outbound_message(adapter: SalesforceAdapter) -> None:
    request = InboundRequest(
        method="POST",
        url="https://example.test/hooks/salesforce/x",
        headers={**SOAP_HEADERS, "x-referrals-secret": SECRET},
        query={},
        body=sample("outbound_message_opportunity.xml"),
        received_at=RECEIVED,
    )
    with pytest.raises(WebhookRefused):
        adapter.verify(request, SECRET, connection())


def test_the_secret_is_checked_before_the_xml_is_read(adapter: SalesforceAdapter) -> None:
    with pytest.raises(WebhookRefused):
        adapter.verify(soap(b"<not xml", {"secret": "wrong"}), SECRET, connection())


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>
<notifications xmlns="http://soap.sforce.com/2005/09/outbound"><OrganizationId>&lol2;</OrganizationId>
</notifications></soapenv:Body></soapenv:Envelope>"""
EXTERNAL_ENTITY = sample("outbound_message_opportunity.xml").replace(
    b'<?xml version="1.0" encoding="UTF-8"?>',
    b'<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
)


@pytest.mark.parametrize(
    "body",
    [
        BILLION_LAUGHS,
        EXTERNAL_ENTITY,
        EXTERNAL_ENTITY.replace(b"<!DOCTYPE", b"<!doctype"),
        # Declared as UTF-16 and encoded so: a byte search for "<!DOCTYPE" would not see it.
        EXTERNAL_ENTITY.replace(b'encoding="UTF-8"', b'encoding="UTF-16"').decode().encode("utf-16"),
    ],
)
def test_document_types_and_entities_are_refused(adapter: SalesforceAdapter, body: bytes) -> None:
    with pytest.raises(MalformedWebhook):
        parse_outbound_message(body)


@pytest.mark.parametrize(
    "body",
    [
        b"<soapenv:Envelope",
        b"<a/>",
        b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body/>'
        b"</soapenv:Envelope>",
        notifications(1).replace(b"<Id>04l5e00000G0000000</Id>", b""),
    ],
)
def test_an_authentic_but_unreadable_message_is_malformed(adapter: SalesforceAdapter, body: bytes) -> None:
    with pytest.raises(MalformedWebhook):
        receive(adapter, soap(body), connection())


def test_the_answer_is_the_soap_ack_envelope(adapter: SalesforceAdapter) -> None:
    reply = adapter.reply(receive(adapter, soap(sample("outbound_message_opportunity.xml")), connection()))

    assert reply.status == 200
    assert reply.content_type.startswith("text/xml")
    root = ET.fromstring(reply.body)  # noqa: S314 - our own answer
    assert root.tag == f"{{{ENVELOPE}}}Envelope"
    [body] = list(root)
    assert body.tag == f"{{{ENVELOPE}}}Body"
    [response] = list(body)
    assert response.tag == f"{{{OUTBOUND}}}notificationsResponse"
    [ack] = list(response)
    assert (ack.tag, ack.text) == (f"{{{OUTBOUND}}}Ack", "true")


# ----------------------------------------------------------------------------- Flow HTTP callouts


def flow_sample(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(sample("flow_http_callout.json"))
    body.update(changes)
    return {key: value for key, value in body.items() if value is not None}


def test_a_flow_callout_with_the_secret_header_becomes_a_signal(adapter: SalesforceAdapter) -> None:
    normalised = receive(adapter, flow(sample("flow_http_callout.json")), connection())

    [signal] = normalised.signals
    assert signal.event_id == "0065e00000HkT9qAAF:Closed Won@1200USD"  # record, stage, amount
    assert signal.match == SignalMatch(
        external_id="salesforce:0065e00000HkT9qAAF", code="p4wz8hk2mq7x", email="grace@example.org"
    )
    assert (signal.amount, signal.currency) == (Decimal("1200.00"), "USD")
    assert signal.occurred_at == datetime(2026, 11, 23, 20, 14, 58, tzinfo=UTC)
    reply = adapter.reply(normalised)
    assert (reply.status, reply.content_type) == (200, "application/json")
    assert json.loads(reply.body) == {"accepted": 1, "ignored": 0}


def test_a_flow_callout_may_name_its_event_and_use_a_bearer_token(adapter: SalesforceAdapter) -> None:
    headers = {"content-type": "application/json", "authorization": f"Bearer {SECRET}"}
    body = flow_sample(event_id="opp-0065e00000HkT9qAAF-won", organization_id=None)

    [signal] = receive(adapter, flow(body, headers), connection()).signals

    assert signal.event_id == "opp-0065e00000HkT9qAAF-won"


def test_a_lead_status_may_be_sent_as_status(adapter: SalesforceAdapter) -> None:
    body = flow_sample(object="Lead", record_id="00Q5e00000BqW3rEAF", stage=None, status="Closed - Converted")
    [signal] = receive(adapter, flow(body), connection(LEAD_CONVERTED)).signals
    assert signal.match.external_id == "salesforce:00Q5e00000BqW3rEAF"


def test_a_referral_code_may_be_sent_as_code(adapter: SalesforceAdapter) -> None:
    body = flow_sample(referral_code=None, code="P4WZ8HK2MQ7X")
    [signal] = receive(adapter, flow(body), connection()).signals
    assert signal.match.code == "p4wz8hk2mq7x"


def test_a_connection_is_read_without_surrounding_whitespace(adapter: SalesforceAdapter) -> None:
    milestone = {"object": " Opportunity", "field": "StageName ", "value": " Closed Won "}
    conn = connection(milestone, organization_id=f" {ORG} ")
    adapter.validate_connection(milestone, conn.settings)
    body = flow_sample(event_id="  opp-won  ")
    adapter.verify(flow(body), SECRET, conn)  # the callout names ORG: the same organization
    [signal] = receive(adapter, flow(body), conn).signals
    assert signal.event_id == "opp-won"


@pytest.mark.parametrize(
    "headers",
    [
        {"content-type": "application/json"},
        {"content-type": "application/json", "x-referrals-secret": "wrong-secret-value"},
        {"content-type": "application/json", "authorization": "Bearer wrong-secret-value"},
        {"content-type": "application/json", "authorization": f"Basic {SECRET}"},
    ],
)
def test_a_flow_callout_without_the_secret_is_refused(
    adapter: SalesforceAdapter, headers: dict[str, str]
) -> None:
    with pytest.raises(WebhookRefused):
        adapter.verify(flow(sample("flow_http_callout.json"), headers), SECRET, connection())


def test_the_secret_in_the_url_does_not_open_a_flow_callout(adapter: SalesforceAdapter) -> None:
    request = InboundRequest(
        method="POST",
        url="https://example.test/hooks/salesforce/x?secret=" + SECRET,
        headers={"content-type": "application/json"},
        query={"secret": SECRET},
        body=sample("flow_http_callout.json"),
        received_at=RECEIVED,
    )
    with pytest.raises(WebhookRefused):
        adapter.verify(request, SECRET, connection())


def test_a_flow_callout_naming_another_organization_is_forbidden(adapter: SalesforceAdapter) -> None:
    with pytest.raises(WebhookForbidden):
        adapter.verify(flow(flow_sample(organization_id="00D5e000000KQ3eEAG")), SECRET, connection())


def test_a_flow_callout_before_the_milestone_is_ignored(adapter: SalesforceAdapter) -> None:
    normalised = receive(adapter, flow(flow_sample(stage="Negotiation/Review")), connection())
    assert normalised.signals == []
    assert json.loads(adapter.reply(normalised).body) == {"accepted": 0, "ignored": 1}


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[]",
        json.dumps(flow_sample(stage=None)).encode(),
        json.dumps(flow_sample(record_id="not an id")).encode(),
        json.dumps(flow_sample(currency="dollars")).encode(),
        json.dumps(flow_sample(occurred_at="2026-11-23T20:14:58")).encode(),  # no time zone
    ],
)
def test_an_unreadable_flow_callout_is_malformed(adapter: SalesforceAdapter, body: bytes) -> None:
    with pytest.raises(MalformedWebhook):
        receive(adapter, flow(body), connection())


def test_empty_flow_fields_count_as_absent(adapter: SalesforceAdapter) -> None:
    body = flow_sample(email="", referral_code="", amount="", currency="", occurred_at="", organization_id="")
    [signal] = receive(adapter, flow(body), connection()).signals
    assert signal.match == SignalMatch(external_id="salesforce:0065e00000HkT9qAAF")
    assert (signal.amount, signal.currency, signal.occurred_at) == (None, None, None)
