"""Pipedrive's webhooks, v2 and v1: HTTP Basic auth checked in constant time, and a qualify signal only
for a deal that is in the milestone state (won, or a stage), keyed on that fact so it is stored once."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from referral_engine.domain.models import Connection, SignalKind, SignalMatch
from referral_engine.domain.records import replace
from referral_engine.domain.webhooks import InboundRequest, MalformedWebhook, WebhookRefused
from referral_engine.vendors import adapter_for, available
from referral_engine.vendors.pipedrive import PipedriveAdapter

SAMPLES = Path(__file__).resolve().parents[3] / "events" / "vendors" / "pipedrive"
USERNAME = "referrals"
PASSWORD = "pd-hook-password-4f9a1c"
CODE_FIELD = "7c1e9f0a2b3d4c5e6f708192a3b4c5d6e7f80912"  # the samples' custom "Referral code" field
NOW = datetime(2026, 11, 23, 20, 15, 6, tzinfo=UTC)
WON_AT = datetime(2026, 11, 23, 20, 15, 4, tzinfo=UTC)
STAGE_AT = datetime(2026, 11, 20, 16, 40, 11, tzinfo=UTC)

adapter = PipedriveAdapter()


def raw(name: str) -> bytes:
    return (SAMPLES / f"{name}.json").read_bytes()


def edited(name: str, section: str, **changes: Any) -> bytes:
    body = json.loads(raw(name))
    body[section] = {**body[section], **changes}
    return json.dumps(body).encode()


def basic(username: str = USERNAME, password: str = PASSWORD) -> dict[str, str]:
    """What Pipedrive sends with the webhook's HTTP Auth username and password."""
    return {"authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


def request(body: bytes, headers: dict[str, str] | None = None) -> InboundRequest:
    return InboundRequest(
        method="POST",
        url="https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/hooks/pipedrive/Q9fXw2LmN5pK7wZs1cDfXq3v",
        headers={"content-type": "application/json", **(headers if headers is not None else basic())},
        query={},
        body=body,
        received_at=NOW,
    )


def connection(milestone: dict[str, Any] | None = None, **settings: Any) -> Connection:
    return Connection(
        id="con_pipedrive",
        campaign_id="cmp_1",
        source="pipedrive",
        hook_id="Q9fXw2LmN5pK7wZs1cDfXq3v",
        milestone=milestone if milestone is not None else {"status": "won"},
        settings={"username": USERNAME, **settings},
        created_at=NOW,
        secret_rotated_at=NOW,
    )


# ------------------------------------------------------------------------------------ registry


def test_the_registry_finds_the_adapter() -> None:
    assert isinstance(adapter_for("pipedrive"), PipedriveAdapter)
    assert "pipedrive" in available()


# ---------------------------------------------------------------------------------- connection


@pytest.mark.parametrize(
    ("milestone", "settings"),
    [
        ({"status": "won"}, {"username": "referrals"}),
        ({"stage_id": 5}, {"username": "referrals", "match": "deal"}),
        ({"status": "won"}, {"username": "ops@acme", "match": "person", "code_field": CODE_FIELD}),
    ],
)
def test_good_connections_are_accepted(milestone: dict[str, Any], settings: dict[str, Any]) -> None:
    adapter.validate_connection(milestone, settings)


@pytest.mark.parametrize(
    ("milestone", "settings", "problem"),
    [
        ({}, {"username": "referrals"}, "status"),
        ({"status": "won", "stage_id": 5}, {"username": "referrals"}, "status"),
        ({"status": "lost"}, {"username": "referrals"}, "status"),
        ({"stage_id": 0}, {"username": "referrals"}, "stage_id"),
        ({"stage_id": "5"}, {"username": "referrals"}, "stage_id"),
        ({"stage": "won"}, {"username": "referrals"}, "stage"),
        ({"status": "won"}, {}, "username"),
        ({"status": "won"}, {"username": "a:b"}, "username"),
        ({"status": "won"}, {"username": ""}, "username"),
        ({"status": "won"}, {"username": "r", "match": "email"}, "match"),
        ({"status": "won"}, {"username": "r", "code_field": "Referral code"}, "code_field"),
        ({"status": "won"}, {"username": "r", "company_id": 1}, "company_id"),
    ],
)
def test_bad_connections_are_refused(
    milestone: dict[str, Any], settings: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        adapter.validate_connection(milestone, settings)


# -------------------------------------------------------------------------------------- verify


def test_the_right_credentials_are_accepted() -> None:
    adapter.verify(request(raw("deal_won_v2")), PASSWORD, connection())
    lower_scheme = {"authorization": basic()["authorization"].replace("Basic", "basic")}
    adapter.verify(request(raw("deal_won_v2"), lower_scheme), PASSWORD, connection())


def test_a_password_with_a_colon_is_fine() -> None:
    adapter.verify(request(raw("deal_won_v2"), basic(password="a:b:c-long")), "a:b:c-long", connection())


@pytest.mark.parametrize(
    "headers",
    [
        {},
        basic(password="not-the-password"),
        basic(username="someone-else"),
        basic(username="", password=PASSWORD),
        {"authorization": f"Bearer {PASSWORD}"},
        {"authorization": "Basic"},
        {"authorization": "Basic !!!not-base64!!!"},
        {"authorization": "Basic " + base64.b64encode(PASSWORD.encode()).decode()},  # no colon
        {"authorization": "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode()},  # not UTF-8
        {"x-referrals-secret": PASSWORD},
    ],
)
def test_missing_or_bad_credentials_are_refused(headers: dict[str, str]) -> None:
    with pytest.raises(WebhookRefused):
        adapter.verify(request(raw("deal_won_v2"), headers), PASSWORD, connection())


def test_a_connection_without_a_username_refuses_everything() -> None:
    broken = replace(connection(), **{"settings": {}})
    with pytest.raises(WebhookRefused):
        adapter.verify(request(raw("deal_won_v2"), basic(username="")), PASSWORD, broken)


# ----------------------------------------------------------------------------- normalise: v2


def test_a_won_deal_v2_is_a_qualify_signal() -> None:
    normalised = adapter.normalise(request(raw("deal_won_v2")), connection())

    [signal] = normalised.signals
    assert signal.source == "pipedrive"
    assert signal.kind is SignalKind.QUALIFY
    assert signal.event_id == "deal-1042-won@1200USD"
    assert signal.campaign_id == "cmp_1"
    assert signal.match == SignalMatch(external_id="pipedrive:3311")
    assert (signal.amount, signal.currency) == (Decimal(1200), "USD")
    assert signal.occurred_at == WON_AT  # the deal's won_time, not when the webhook was sent
    assert signal.received_at == NOW
    assert normalised.ignored == []
    assert json.loads(adapter.reply(normalised).body) == {"accepted": 1}
    assert adapter.reply(normalised).status == 200


def test_a_deal_reaching_the_milestone_stage_is_a_qualify_signal() -> None:
    [signal] = adapter.normalise(request(raw("deal_stage_changed_v2")), connection({"stage_id": 5})).signals

    assert signal.event_id == "deal-1042-stage-5@1200USD"
    assert signal.occurred_at == STAGE_AT
    assert signal.match.external_id == "pipedrive:3311"


def test_a_milestone_with_an_explicit_null_is_the_other_rule() -> None:
    rule = {"status": None, "stage_id": 5}
    adapter.validate_connection(rule, {"username": USERNAME})
    [signal] = adapter.normalise(request(raw("deal_stage_changed_v2")), connection(rule)).signals
    assert signal.event_id == "deal-1042-stage-5@1200USD"


def test_a_won_deal_in_the_milestone_stage_qualifies_a_stage_connection() -> None:
    """The won deal sits in stage 5: a stage-5 connection qualifies on it even if it missed the move."""
    [signal] = adapter.normalise(request(raw("deal_won_v2")), connection({"stage_id": 5})).signals
    assert signal.event_id == "deal-1042-stage-5@1200USD"


def test_the_signal_does_not_depend_on_previous() -> None:
    """Out of order: an edit of an already-won deal (status unchanged) names the same fact, once."""
    later_edit = json.loads(raw("deal_won_v2"))
    later_edit["meta"]["id"] = "0b1c2d3e-later-edit"
    later_edit["previous"] = {"title": "Grace Hopper - Team", "update_time": "2026-11-23T20:15:04Z"}
    first = adapter.normalise(request(raw("deal_won_v2")), connection()).signals[0]
    again = adapter.normalise(request(json.dumps(later_edit).encode()), connection()).signals[0]
    assert again.dedupe_key == first.dedupe_key


def test_a_retry_is_the_same_signal() -> None:
    retried = edited("deal_won_v2", "meta", attempt=2)
    first = adapter.normalise(request(raw("deal_won_v2")), connection()).signals[0]
    again = adapter.normalise(request(retried), connection()).signals[0]
    assert again.dedupe_key == first.dedupe_key


@pytest.mark.parametrize(
    ("sample", "milestone", "ignored"),
    [
        ("deal_stage_changed_v2", {"status": "won"}, "has not reached"),
        ("deal_created_v2", {"status": "won"}, "has not reached"),
        ("deal_created_v2", {"stage_id": 5}, "has not reached"),
        ("deal_won_v2", {"stage_id": 6}, "has not reached"),
        ("person_changed_v2", {"status": "won"}, "person events"),
    ],
)
def test_other_events_are_acknowledged_and_ignored(
    sample: str, milestone: dict[str, Any], ignored: str
) -> None:
    normalised = adapter.normalise(request(raw(sample)), connection(milestone))

    assert normalised.signals == []
    assert ignored in normalised.ignored[0]
    assert adapter.reply(normalised).status == 200
    assert json.loads(adapter.reply(normalised).body) == {"accepted": 0}


def test_a_deleted_deal_is_ignored() -> None:
    deleted = json.loads(raw("deal_won_v2"))
    deleted["meta"]["action"] = "delete"
    deleted["previous"], deleted["data"] = deleted["data"], None
    normalised = adapter.normalise(request(json.dumps(deleted).encode()), connection())
    assert normalised.signals == []
    assert "delete" in normalised.ignored[0]


def test_a_lost_deal_is_not_won() -> None:
    lost = edited("deal_won_v2", "data", status="lost", won_time=None, lost_time="2026-11-23T20:15:04Z")
    assert adapter.normalise(request(lost), connection()).signals == []


def test_the_deal_id_falls_back_to_the_meta_block() -> None:
    v2 = json.loads(raw("deal_won_v2"))
    del v2["data"]["id"]
    v1 = json.loads(raw("deal_updated_v1"))
    del v1["current"]["id"]
    for body in (v2, v1):
        [signal] = adapter.normalise(request(json.dumps(body).encode()), connection()).signals
        assert signal.event_id == "deal-1042-won@1200USD"


# ----------------------------------------------------------------------------- normalise: v1


def test_a_won_deal_v1_is_the_same_signal_as_v2() -> None:
    [v1] = adapter.normalise(request(raw("deal_updated_v1")), connection()).signals
    [v2] = adapter.normalise(request(raw("deal_won_v2")), connection()).signals

    assert v1.event_id == "deal-1042-won@1200USD"  # v1's meta.id is the deal's id: no event id to use
    assert v1.dedupe_key == v2.dedupe_key  # both webhooks configured during a migration: stored once
    assert v1.match == SignalMatch(external_id="pipedrive:3311")
    assert (v1.amount, v1.currency) == (Decimal(1200), "USD")
    assert v1.occurred_at == WON_AT  # "2026-11-23 20:15:04" is UTC


def test_a_v1_deal_not_yet_won_is_ignored() -> None:
    open_deal = edited("deal_updated_v1", "current", status="open", won_time=None)
    normalised = adapter.normalise(request(open_deal), connection())
    assert normalised.signals == []
    assert normalised.ignored


def test_a_v1_deal_reaching_a_stage_and_v1_lookups() -> None:
    """Some v1 payloads carry lookups as objects ({"value": id, "name": ...})."""
    moved = edited("deal_updated_v1", "current", status="open", stage_id=7, person_id={"value": 3311})
    [signal] = adapter.normalise(request(moved), connection({"stage_id": 7})).signals
    assert signal.event_id == "deal-1042-stage-7@1200USD"
    assert signal.match.external_id == "pipedrive:3311"
    assert signal.occurred_at == STAGE_AT


def test_a_v1_timestamp_is_used_when_the_deal_has_no_time() -> None:
    body = edited("deal_updated_v1", "current", won_time=None)
    [signal] = adapter.normalise(request(body), connection()).signals
    assert signal.occurred_at == datetime.fromtimestamp(1795464904, UTC)


# --------------------------------------------------------------------------------- matching


def test_matching_on_the_deal_id_instead_of_the_person() -> None:
    [signal] = adapter.normalise(request(raw("deal_won_v2")), connection(match="deal")).signals
    assert signal.match == SignalMatch(external_id="pipedrive_deal:1042")  # never a person id


@pytest.mark.parametrize("sample", ["deal_won_v2", "deal_updated_v1"])
def test_a_referral_code_from_a_custom_deal_field(sample: str) -> None:
    [signal] = adapter.normalise(request(raw(sample)), connection(code_field=CODE_FIELD)).signals
    assert signal.match == SignalMatch(external_id="pipedrive:3311", code="p4wz8hk2mq7x")


def test_a_deal_without_a_person_is_kept_for_an_admin() -> None:
    """Nothing to match on, but authentic and won: stored (and then set aside by qualify), never a 4xx
    that Pipedrive would retry and count towards deleting the webhook."""
    orphan = edited("deal_won_v2", "data", person_id=None, custom_fields={})
    [signal] = adapter.normalise(request(orphan), connection(code_field=CODE_FIELD)).signals
    assert signal.match.is_empty()
    assert signal.event_id == "deal-1042-won@1200USD"


def test_odd_money_is_left_out() -> None:
    body = edited("deal_won_v2", "data", value=None, currency="usd dollars")
    [signal] = adapter.normalise(request(body), connection()).signals
    assert (signal.amount, signal.currency) == (None, None)


# ---------------------------------------------------------------------------------- malformed


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[1, 2]",
        b'{"event": "updated.deal"}',
        b'{"meta": {"action": "change"}}',
        json.dumps({"meta": {"version": "2.0", "entity": "deal", "action": "change"}, "data": {}}).encode(),
    ],
)
def test_an_authentic_but_unreadable_call_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedWebhook):
        adapter.normalise(request(body), connection())


# ---------------------------------------------------------------- milestones undone (docs/adr/0021)
LOST_AT = "2026-12-01T10:02:03Z"


def lost_after_won_v2() -> bytes:
    """A won deal marked lost, as webhooks v2 sends it: `previous` holds the fields that changed."""
    body = json.loads(raw("deal_won_v2"))
    body["data"].update(status="lost", lost_time=LOST_AT, update_time=LOST_AT, lost_reason="Went elsewhere")
    body["previous"] = {"status": "won", "lost_time": None, "update_time": "2026-11-23T20:15:04Z"}
    return json.dumps(body).encode()


def lost_after_won_v1() -> bytes:
    """The same change in webhooks v1: `previous` is the whole deal before it."""
    body = json.loads(raw("deal_updated_v1"))
    body["previous"] = {**body["current"]}
    body["current"].update(status="lost", lost_time="2026-12-01 10:02:03", update_time="2026-12-01 10:02:03")
    return json.dumps(body).encode()


def test_a_won_deal_that_is_lost_reverses_when_the_connection_asks() -> None:
    [v2] = adapter.normalise(request(lost_after_won_v2()), connection(reverse_when_undone=True)).signals
    [v1] = adapter.normalise(request(lost_after_won_v1()), connection(reverse_when_undone=True)).signals

    assert v2.kind is SignalKind.REVERSE
    assert v2.reason == "Pipedrive deal 1042 went from won to lost"
    assert v2.match == SignalMatch(external_id="pipedrive:3311")
    assert v2.occurred_at == datetime(2026, 12, 1, 10, 2, 3, tzinfo=UTC)
    assert (
        v2.event_id == v1.event_id == "deal-1042-won-undone-2026-12-01T10:02:03+00:00"
    )  # v1/v2 twins collapse


def test_without_the_setting_a_lost_deal_is_only_ignored() -> None:
    normalised = adapter.normalise(request(lost_after_won_v2()), connection())
    assert normalised.signals == []
    assert normalised.ignored == ["deal 1042 has not reached the milestone"]


def test_a_deal_moving_between_stages_or_lost_before_it_was_won_is_not_undone() -> None:
    moved = edited("deal_stage_changed_v2", "data", stage_id=3)
    lost_open = json.loads(lost_after_won_v2())
    lost_open["previous"]["status"] = "open"
    stage, won = connection({"stage_id": 5}, reverse_when_undone=True), connection(reverse_when_undone=True)

    assert adapter.normalise(request(moved), stage).signals == []
    assert adapter.normalise(request(json.dumps(lost_open).encode()), won).signals == []


def test_a_deal_lost_after_the_milestone_stage_reverses_a_stage_connection() -> None:
    stage = connection({"stage_id": 5}, reverse_when_undone=True)
    [signal] = adapter.normalise(request(lost_after_won_v2()), stage).signals
    assert signal.kind is SignalKind.REVERSE
    assert signal.event_id.startswith("deal-1042-stage-5-undone-")


def test_reverse_when_undone_must_be_a_boolean() -> None:
    adapter.validate_connection({"status": "won"}, {"username": USERNAME, "reverse_when_undone": True})
    with pytest.raises(ValueError, match="reverse_when_undone"):
        adapter.validate_connection({"status": "won"}, {"username": USERNAME, "reverse_when_undone": "yes"})
