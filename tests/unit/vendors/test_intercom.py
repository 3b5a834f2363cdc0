"""Intercom's webhook notifications: signed with the app's client secret (X-Hub-Signature: sha1=),
mapped to a qualify signal only when the connection's milestone (a tag, an attribute value) is reached."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from referral_engine.domain.models import Connection, SignalKind, SignalMatch
from referral_engine.domain.webhooks import (
    InboundRequest,
    MalformedWebhook,
    StaleWebhook,
    WebhookRefused,
)
from referral_engine.vendors import adapter_for, available
from referral_engine.vendors.intercom import IntercomAdapter

SAMPLES = Path(__file__).resolve().parents[3] / "events" / "vendors" / "intercom"
SECRET = "0f3c9d1e-intercom-client-secret-7b2a"
TAGGED_AT = datetime(2026, 11, 23, 20, 14, 50, tzinfo=UTC)  # the samples' times (Unix 1795464890)
UPDATED_AT = datetime(2026, 11, 23, 21, 15, 2, tzinfo=UTC)  # contact.user.updated's created_at
NOW = datetime(2026, 11, 23, 21, 20, tzinfo=UTC)
CONTACT_ID = "6762f0dd1bb69f9f2193bb83"
TAG_NOTIFICATION = "notif_0c5d2a4e-9b1f-4c7e-8a3d-2f6b1e9c7a51"

adapter = IntercomAdapter()


def raw(name: str) -> bytes:
    """A sample's bytes exactly as stored: signatures are over these, never over re-serialised JSON."""
    return (SAMPLES / f"{name}.json").read_bytes()


def edited(name: str, **changes: Any) -> bytes:
    body = json.loads(raw(name))
    body.update(changes)
    return json.dumps(body).encode()


def sign(body: bytes, secret: str = SECRET) -> dict[str, str]:
    """What Intercom sends: the hex HMAC-SHA1 of the raw body keyed with the app's client secret."""
    return {"x-hub-signature": "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()}


def request(
    body: bytes, headers: dict[str, str] | None = None, received_at: datetime = NOW
) -> InboundRequest:
    return InboundRequest(
        method="POST",
        url="https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/hooks/intercom/Q9fXw2LmN5pK7wZs1cDfXq3v",
        headers={"content-type": "application/json", **(headers if headers is not None else sign(body))},
        query={},
        body=body,
        received_at=received_at,
    )


def connection(milestone: dict[str, Any] | None = None, **settings: Any) -> Connection:
    return Connection(
        id="con_01",
        campaign_id="cmp_01",
        source="intercom",
        hook_id="Q9fXw2LmN5pK7wZs1cDfXq3v",
        milestone={"tag": "customer"} if milestone is None else milestone,
        settings=settings,
        created_at=NOW - timedelta(days=30),
        secret_rotated_at=NOW - timedelta(days=30),
    )


PAID = {"attribute": "custom_attributes.plan", "value": "paid"}


# ------------------------------------------------------------------------------------ signatures
@pytest.mark.parametrize("sample", ["contact.user.tag.created", "contact.user.updated", "ping"])
def test_a_notification_signed_with_the_client_secret_is_authentic(sample: str) -> None:
    adapter.verify(request(raw(sample)), SECRET, connection())


def test_a_signature_in_upper_case_hex_is_the_same_signature() -> None:
    body = raw("contact.user.tag.created")
    digest = sign(body)["x-hub-signature"].removeprefix("sha1=")
    adapter.verify(request(body, {"x-hub-signature": f"sha1={digest.upper()}"}), SECRET, connection())


def test_a_tampered_body_is_refused() -> None:
    body = raw("contact.user.tag.created")
    tampered = body.replace(b"grace@example.org", b"mallory@example.org")
    with pytest.raises(WebhookRefused) as refused:
        adapter.verify(request(tampered, sign(body)), SECRET, connection())
    assert refused.value.code == "signature_invalid"


def test_re_serialised_json_is_not_the_signed_body() -> None:
    body = raw("contact.user.tag.created")
    compact = json.dumps(json.loads(body), separators=(",", ":")).encode()
    with pytest.raises(WebhookRefused):
        adapter.verify(request(compact, sign(body)), SECRET, connection())


def test_a_signature_made_with_another_secret_is_refused() -> None:
    body = raw("contact.user.tag.created")
    with pytest.raises(WebhookRefused):
        adapter.verify(request(body, sign(body, "another-apps-client-secret")), SECRET, connection())


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"x-hub-signature": ""},
        {"x-hub-signature": "sha1="},
        {"x-hub-signature": "sha1=not-hex"},
        {"x-signature": "sha1=0000000000000000000000000000000000000000"},
    ],
    ids=["missing", "empty", "no-digest", "garbage", "other-header"],
)
def test_a_missing_or_unreadable_signature_is_refused(headers: dict[str, str]) -> None:
    with pytest.raises(WebhookRefused):
        adapter.verify(request(raw("contact.user.tag.created"), headers), SECRET, connection())


def test_only_sha1_is_accepted_even_when_the_digest_is_right_for_its_algorithm() -> None:
    body = raw("contact.user.tag.created")
    sha256 = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    bare = sign(body)["x-hub-signature"].removeprefix("sha1=")
    for header in (f"sha256={sha256}", bare, f"md5={bare}"):
        with pytest.raises(WebhookRefused):
            adapter.verify(request(body, {"x-hub-signature": header}), SECRET, connection())


# ------------------------------------------------------------------------------------- freshness
@pytest.mark.parametrize(
    "delay",
    [timedelta(seconds=5), timedelta(minutes=1, seconds=5), timedelta(hours=2), timedelta(hours=23)],
    ids=["first-delivery", "retry-after-a-minute", "throttled-two-hours", "within-a-day"],
)
def test_intercoms_own_retries_and_throttled_deliveries_are_fresh(delay: timedelta) -> None:
    body = raw("contact.user.tag.created")
    adapter.verify(request(body, received_at=TAGGED_AT + delay), SECRET, connection())


def test_a_notification_older_than_a_day_is_a_replay_and_refused() -> None:
    body = raw("contact.user.tag.created")
    with pytest.raises(StaleWebhook) as stale:
        adapter.verify(request(body, received_at=TAGGED_AT + timedelta(hours=25)), SECRET, connection())
    assert stale.value.code == "stale_timestamp"


def test_the_freshness_window_is_a_connection_setting() -> None:
    body = raw("contact.user.tag.created")
    strict = connection(max_age_hours=1)
    adapter.verify(request(body, received_at=TAGGED_AT + timedelta(minutes=59)), SECRET, strict)
    with pytest.raises(StaleWebhook):
        adapter.verify(request(body, received_at=TAGGED_AT + timedelta(minutes=61)), SECRET, strict)


def test_an_old_body_with_a_bad_signature_is_refused_as_unsigned_not_as_stale() -> None:
    body = raw("contact.user.tag.created")
    with pytest.raises(WebhookRefused) as refused:
        adapter.verify(
            request(body, sign(body, "wrong-secret"), received_at=TAGGED_AT + timedelta(days=3)),
            SECRET,
            connection(),
        )
    assert not isinstance(refused.value, StaleWebhook)


# -------------------------------------------------------------------------------------- mapping
def test_a_contact_tagged_with_the_milestone_tag_is_a_qualify_signal() -> None:
    normalised = adapter.normalise(request(raw("contact.user.tag.created")), connection({"tag": "customer"}))

    [signal] = normalised.signals
    assert normalised.ignored == []
    assert (signal.source, signal.event_id, signal.campaign_id) == ("intercom", TAG_NOTIFICATION, "cmp_01")
    assert signal.kind is SignalKind.QUALIFY
    assert signal.match == SignalMatch(external_id=f"intercom:{CONTACT_ID}", email="grace@example.org")
    assert (signal.occurred_at, signal.received_at) == (TAGGED_AT, NOW)
    assert (signal.amount, signal.currency) == (None, None)


def test_tag_names_match_regardless_of_case_and_surrounding_spaces() -> None:
    normalised = adapter.normalise(
        request(raw("contact.user.tag.created")), connection({"tag": " Customer "})
    )
    assert len(normalised.signals) == 1


def test_a_lead_being_tagged_counts_too() -> None:
    body = edited("contact.user.tag.created", topic="contact.lead.tag.created")
    assert len(adapter.normalise(request(body), connection()).signals) == 1


def test_an_attribute_update_reaching_the_value_is_a_qualify_signal() -> None:
    normalised = adapter.normalise(request(raw("contact.user.updated")), connection(PAID))

    [signal] = normalised.signals
    assert signal.event_id == "notif_7e41c9b0-5a2d-4f8e-b6c3-91d0a4e2f378"
    assert signal.match == SignalMatch(external_id=f"intercom:{CONTACT_ID}", email="grace@example.org")
    assert signal.occurred_at == UPDATED_AT


@pytest.mark.parametrize(
    "milestone",
    [
        {"attribute": "role", "value": "user"},
        {"attribute": "custom_attributes.seats", "value": 5},
        {"attribute": "custom_attributes.plan", "value": ["enterprise", "paid"]},
        {"attribute": "location.country_code", "value": "USA"},
        {"attribute": "unsubscribed_from_emails", "value": False},
    ],
    ids=["standard", "number", "any-of", "location", "boolean"],
)
def test_standard_and_custom_attributes_can_be_milestones(milestone: dict[str, Any]) -> None:
    assert len(adapter.normalise(request(raw("contact.user.updated")), connection(milestone)).signals) == 1


def test_a_tagged_contact_whose_attribute_holds_the_value_counts_for_an_attribute_milestone() -> None:
    body = raw("contact.user.tag.created")  # the contact inside is on plan "trial"
    trial = {"attribute": "custom_attributes.plan", "value": "trial"}
    assert len(adapter.normalise(request(body), connection(trial)).signals) == 1


@pytest.mark.parametrize(
    ("sample", "milestone", "changes"),
    [
        ("contact.user.tag.created", {"tag": "vip"}, {}),
        ("contact.user.tag.created", {"tag": "customer"}, {"topic": "contact.user.tag.deleted"}),
        ("contact.user.updated", {"tag": "customer"}, {}),
        ("contact.user.updated", {"attribute": "custom_attributes.plan", "value": "enterprise"}, {}),
        ("contact.user.updated", {"attribute": "custom_attributes.coupon", "value": "x"}, {}),
        ("contact.user.updated", {"attribute": "custom_attributes.seats", "value": "5"}, {}),
        ("contact.user.updated", {"attribute": "role", "value": "lead"}, {}),
        ("contact.user.tag.created", PAID, {}),
    ],
    ids=[
        "another-tag",
        "tag-removed",
        "tag-milestone-on-an-update",
        "another-value",
        "attribute-absent",
        "string-is-not-number",
        "standard-other-value",
        "tagged-but-not-paid",
    ],
)
def test_notifications_short_of_the_milestone_are_ignored(
    sample: str, milestone: dict[str, Any], changes: dict[str, Any]
) -> None:
    normalised = adapter.normalise(request(edited(sample, **changes)), connection(milestone))
    assert normalised.signals == []
    assert len(normalised.ignored) == 1
    assert adapter.reply(normalised).status == 200


def test_booleans_and_numbers_are_not_confused() -> None:
    body = json.loads(raw("contact.user.updated"))
    body["data"]["item"]["custom_attributes"]["paid_subscriber"] = True
    encoded = json.dumps(body).encode()
    as_bool = {"attribute": "custom_attributes.paid_subscriber", "value": True}
    as_int = {"attribute": "custom_attributes.paid_subscriber", "value": 1}
    assert len(adapter.normalise(request(encoded), connection(as_bool)).signals) == 1
    assert adapter.normalise(request(encoded), connection(as_int)).signals == []


def test_text_is_not_a_number_in_a_milestone() -> None:
    body = json.loads(raw("contact.user.updated"))
    body["data"]["item"]["custom_attributes"]["seats"] = 3
    encoded = json.dumps(body).encode()
    as_text = {"attribute": " custom_attributes.seats ", "value": "3"}
    as_number = {"attribute": "custom_attributes.seats", "value": [2, 3.0]}
    assert adapter.normalise(request(encoded), connection(as_text)).signals == []
    assert len(adapter.normalise(request(encoded), connection(as_number)).signals) == 1


def test_a_conversation_notification_is_ignored() -> None:
    body = edited(
        "contact.user.updated",
        topic="conversation.user.created",
        data={"type": "notification_event_data", "item": {"type": "conversation", "id": "147"}},
    )
    normalised = adapter.normalise(request(body), connection(PAID))
    assert (normalised.signals, len(normalised.ignored)) == ([], 1)


def test_a_ping_is_answered_200_and_stores_nothing() -> None:
    normalised = adapter.normalise(request(raw("ping")), connection())
    reply = adapter.reply(normalised)
    assert (normalised.signals, normalised.ignored) == ([], ["ping"])
    assert (reply.status, json.loads(reply.body)) == (200, {"accepted": 0, "ignored": 1})


def test_the_reply_counts_what_was_accepted() -> None:
    reply = adapter.reply(adapter.normalise(request(raw("contact.user.tag.created")), connection()))
    assert (reply.status, reply.content_type, json.loads(reply.body)) == (
        200,
        "application/json",
        {"accepted": 1, "ignored": 0},
    )


# -------------------------------------------------------------------------------------- matching
def test_matching_on_your_own_user_id_uses_the_contacts_external_id() -> None:
    normalised = adapter.normalise(
        request(raw("contact.user.tag.created")), connection(match_on="external_id")
    )
    assert normalised.signals[0].match == SignalMatch(
        external_id="intercom:user-4021", email="grace@example.org"
    )


def test_without_an_external_id_the_email_remains() -> None:
    body = json.loads(raw("contact.user.tag.created"))
    body["data"]["item"]["contact"]["external_id"] = None
    normalised = adapter.normalise(request(json.dumps(body).encode()), connection(match_on="external_id"))
    assert normalised.signals[0].match == SignalMatch(email="grace@example.org")


def test_a_referral_code_kept_in_a_custom_attribute_is_matched_on() -> None:
    body = json.loads(raw("contact.user.updated"))
    body["data"]["item"]["custom_attributes"]["referral_code"] = " P4WZ8HK2MQ7X "
    normalised = adapter.normalise(
        request(json.dumps(body).encode()),
        connection(PAID, code_attribute="custom_attributes.referral_code"),
    )
    assert normalised.signals[0].match.code == "p4wz8hk2mq7x"


def test_an_unusable_email_is_left_out_of_the_match() -> None:
    body = json.loads(raw("contact.user.tag.created"))
    body["data"]["item"]["contact"]["email"] = "not an email"
    normalised = adapter.normalise(request(json.dumps(body).encode()), connection())
    assert normalised.signals[0].match == SignalMatch(external_id=f"intercom:{CONTACT_ID}")


def test_a_contact_with_nothing_to_match_on_is_malformed() -> None:
    body = json.loads(raw("contact.user.tag.created"))
    contact = body["data"]["item"]["contact"]
    contact["id"], contact["email"] = None, None
    with pytest.raises(MalformedWebhook):
        adapter.normalise(request(json.dumps(body).encode()), connection())


def test_a_connection_pinned_to_a_workspace_ignores_the_apps_other_workspaces() -> None:
    body = raw("contact.user.tag.created")  # app_id a86dr8yl
    assert len(adapter.normalise(request(body), connection(workspace_id="a86dr8yl")).signals) == 1
    other = adapter.normalise(request(body), connection(workspace_id="zz99other"))
    assert (other.signals, len(other.ignored)) == ([], 1)


# ------------------------------------------------------------------------------------ malformed
@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[]",
        json.dumps({"type": "event", "topic": "contact.user.updated", "data": {"item": {}}}).encode(),
        edited("contact.user.tag.created", id=None),
        edited("contact.user.tag.created", data={"item": "contact"}),
    ],
    ids=["not-json", "array", "not-a-notification", "no-id", "item-not-an-object"],
)
def test_authentic_but_unreadable_bodies_are_malformed(body: bytes) -> None:
    adapter.verify(request(body), SECRET, connection())  # freshness leaves unreadable bodies alone
    with pytest.raises(MalformedWebhook):
        adapter.normalise(request(body), connection())


# ---------------------------------------------------------------------------------- connections
@pytest.mark.parametrize(
    ("milestone", "settings"),
    [
        ({"tag": "customer"}, {}),
        (PAID, {}),
        ({"attribute": "role", "value": "user"}, {"match_on": "external_id"}),
        ({"attribute": "custom_attributes.Monthly Spend", "value": 155.5}, {"max_age_hours": 72}),
        (
            {"tag": "customer"},
            {"code_attribute": "custom_attributes.referral_code", "workspace_id": "a86dr8yl"},
        ),
    ],
)
def test_valid_connections(milestone: dict[str, Any], settings: dict[str, Any]) -> None:
    adapter.validate_connection(milestone, settings)


@pytest.mark.parametrize(
    ("milestone", "settings", "message"),
    [
        ({}, {}, "needs a milestone"),
        ({"tag": "  "}, {}, "tag"),
        ({"tag": "customer", "value": "x"}, {}, "value"),
        ({"attribute": "plan", "value": "paid"}, {}, "custom_attributes.<name>"),
        ({"attribute": "custom_attributes.", "value": "paid"}, {}, "custom_attributes.<name>"),
        ({"attribute": "custom_attributes.plan"}, {}, "value"),
        ({"attribute": "custom_attributes.plan", "value": None}, {}, "value"),
        ({"attribute": "custom_attributes.plan", "value": []}, {}, "value"),
        ({"stage": "won"}, {}, "attribute"),
        ({"tag": "customer"}, {"match_on": "email"}, "match_on"),
        ({"tag": "customer"}, {"code_attribute": "referral_code"}, "code_attribute"),
        ({"tag": "customer"}, {"max_age_hours": 0}, "max_age_hours"),
        ({"tag": "customer"}, {"organization_id": "00D"}, "organization_id"),
    ],
)
def test_invalid_connections_are_explained(
    milestone: dict[str, Any], settings: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match="intercom") as refused:
        adapter.validate_connection(milestone, settings)
    assert message in str(refused.value)


def test_the_registry_finds_the_intercom_adapter() -> None:
    assert isinstance(adapter_for("intercom"), IntercomAdapter)
    assert "intercom" in available()


def test_an_out_of_range_created_at_is_not_a_timestamp() -> None:
    body = edited("contact.user.tag.created", created_at=10**20)
    adapter.verify(request(body), SECRET, connection())
    assert len(adapter.normalise(request(body), connection()).signals) == 1
