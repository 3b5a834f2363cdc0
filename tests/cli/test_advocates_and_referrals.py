"""`referrals advocates enrol | show`, `referrals referrals list | show`, `referrals api-keys create`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import api
from referral_engine.adapters.dynamodb.api_keys import DynamoApiKeyStore
from referral_engine.adapters.dynamodb.table import Table
from referral_engine.services.api_keys import ApiKeyService, key_hash
from support.aws import TABLE
from support.events import LambdaContext, http_event, json_body
from support.journey import (
    click,
    create_campaign,
    enrol,
    qualify_via_api,
    run_issue_reward,
    run_qualify,
    sign_up,
)

if TYPE_CHECKING:
    from cli.conftest import Cli

API_URL = "https://api.example.test"


def rewarded_referral(cli: Cli, advocate_code: str, email: str) -> dict[str, Any]:
    referral = sign_up(advocate_code, email)
    qualify_via_api(referral["id"], event_id=f"inv-{email}", amount="79.00", currency="USD")
    run_qualify(cli.stack)
    assert [o["outcome"] for o in run_issue_reward(cli.stack)] == ["issued"]
    return referral


# ------------------------------------------------------------------------------------ advocates
def test_enrol_prints_the_code_and_share_link_and_the_same_email_gets_the_same_code(cli: Cli) -> None:
    campaign = create_campaign()

    first = cli.ok("advocates", "enrol", campaign["id"], "--email", "Ada@Example.com", "--name", "Ada")
    again = cli.json("advocates", "enrol", campaign["id"], "--email", "ada@example.com")

    [participant] = cli.stack.items_of("participant")
    code = participant["code"]
    assert participant["email"] == "ada@example.com"
    assert participant["name"] == "Ada"
    assert first.startswith(f"Enrolled ada@example.com in {campaign['id']}")
    assert f"share link  {API_URL}/r/{code}" in first
    assert again["code"] == code
    assert again["created"] is False
    assert again["share_url"] == f"{API_URL}/r/{code}"


def test_enrol_in_an_unknown_campaign_exits_1_not_found(cli: Cli) -> None:
    run = cli("advocates", "enrol", "cmp_missing", "--email", "ada@example.com")

    assert run.code == 1
    assert run.err == "referrals: error: not found: no campaign cmp_missing\n"
    assert cli.stack.items_of("participant") == []


def test_enrol_with_an_invalid_email_exits_1(cli: Cli) -> None:
    campaign = create_campaign()
    run = cli("advocates", "enrol", campaign["id"], "--email", "not-an-email")

    assert run.code == 1
    assert run.err.startswith("referrals: error: invalid input: email:")


def test_show_counts_clicks_referrals_rewards_and_credit(cli: Cli) -> None:
    campaign = create_campaign()  # advocate 20.00 USD, friend 10.00 USD
    code = enrol(campaign["id"])["code"]
    assert cli.json("advocates", "show", code)["clicks"] == 0

    click(code)
    click(code)
    rewarded_referral(cli, code, "grace@example.org")
    sign_up(code, "lin@example.org")  # a second referral, still pending
    shown = cli.json("advocates", "show", code)
    text = cli.ok("advocates", "show", code.upper())

    assert shown["clicks"] == 2
    assert shown["referrals"] == 2
    assert shown["rewards"] == 1
    assert shown["credit_balance"] == "20.00"
    assert shown["share_url"] == f"{API_URL}/r/{code}"
    assert shown["referral_id"] is None
    assert f"Code {code}  advocate" in text
    for line in ("clicks          2", "referrals       2", "rewards         1", "credit balance  20.00 USD"):
        assert line in text


def test_show_of_a_referred_friend_names_their_referral(cli: Cli) -> None:
    campaign = create_campaign()
    referral = sign_up(enrol(campaign["id"])["code"])

    shown = cli.json("advocates", "show", referral["referral_code"])

    assert shown["referral_id"] == referral["id"]
    assert f"referred friend (referral {referral['id']})" in cli.ok(
        "advocates", "show", referral["referral_code"]
    )


def test_show_of_an_unknown_code_exits_1_not_found(cli: Cli) -> None:
    run = cli("advocates", "show", "nosuchcode42")

    assert run.code == 1
    assert run.err == "referrals: error: not found: no referral code 'nosuchcode42'\n"


# ------------------------------------------------------------------------------------ referrals
def test_list_filters_by_status_and_sorts_by_qualified_date(cli: Cli) -> None:
    campaign = create_campaign()
    code = enrol(campaign["id"])["code"]
    pending = sign_up(code, "one@example.org")
    rewarded = rewarded_referral(cli, code, "two@example.org")
    later = rewarded_referral(cli, code, "three@example.org")

    everything = cli.json("referrals", "list", campaign["id"])
    only_pending = cli.json("referrals", "list", campaign["id"], "--status", "pending")
    by_qualified = cli.json("referrals", "list", campaign["id"], "--sort", "qualified_at", "--order", "asc")
    table = cli.ok("referrals", "list", campaign["id"], "--status", "rewarded")

    assert [r["id"] for r in everything["items"]] == [later["id"], rewarded["id"], pending["id"]]
    assert [r["id"] for r in only_pending["items"]] == [pending["id"]]
    assert [r["id"] for r in by_qualified["items"]] == [rewarded["id"], later["id"]]
    assert everything["items"][0]["referred"]["email"] == "three@example.org"
    rows = table.splitlines()
    assert rows[0].split() == ["ID", "STATUS", "REFERRED", "ADVOCATE", "JOINED", "QUALIFIED"]
    assert [row.split()[:2] for row in rows[1:]] == [[later["id"], "rewarded"], [rewarded["id"], "rewarded"]]


def test_list_pages_with_the_printed_cursor(cli: Cli) -> None:
    campaign = create_campaign()
    code = enrol(campaign["id"])["code"]
    ids = [sign_up(code, f"p{i}@example.org")["id"] for i in range(3)]

    first = cli.ok("referrals", "list", campaign["id"], "--limit", "2")
    cursor = first.rsplit("--cursor ", 1)[1].strip()
    second = cli.json("referrals", "list", campaign["id"], "--limit", "2", "--cursor", cursor)

    assert f"more: referrals referrals list {campaign['id']} --cursor " in first
    assert [r["id"] for r in second["items"]] == [ids[0]]


def test_list_of_an_unknown_campaign_exits_1(cli: Cli) -> None:
    run = cli("referrals", "list", "cmp_missing")
    assert (run.code, run.err) == (1, "referrals: error: not found: no campaign cmp_missing\n")


def test_show_prints_the_rewards_and_the_audit_trail(cli: Cli) -> None:
    campaign = create_campaign()
    code = enrol(campaign["id"])["code"]
    referral = rewarded_referral(cli, code, "grace@example.org")

    shown = cli.json("referrals", "show", referral["id"])
    text = cli.ok("referrals", "show", referral["id"])

    assert shown["status"] == "rewarded"
    assert shown["qualified_by"] == "api:inv-grace@example.org"
    assert sorted((r["recipient"], r["amount"]) for r in shown["rewards"]) == [
        ("advocate", "20.00"),
        ("friend", "10.00"),
    ]
    assert [(a["action"], a["from_status"], a["to_status"]) for a in shown["audit"]] == [
        ("referral.created", None, "pending"),
        ("referral.qualified", "pending", "qualified"),
        ("referral.rewarded", "qualified", "rewarded"),
    ]
    assert text.startswith(f"Referral {referral['id']}  rewarded")
    audit = text.split("Audit trail", 1)[1]
    assert "referral.qualified  signal:api:inv-grace@example.org  pending → qualified" in audit
    assert "system:issue_reward" in audit
    assert "advocate   " in text.split("Rewards", 1)[1]


def test_show_of_an_unknown_referral_exits_1_not_found(cli: Cli) -> None:
    run = cli("referrals", "show", "ref_missing")
    assert (run.code, run.err) == (1, "referrals: error: not found: no referral ref_missing\n")


# ------------------------------------------------------------------------------------ API keys
def test_a_created_api_key_authenticates_and_only_its_hash_is_stored(cli: Cli) -> None:
    created = cli.json("api-keys", "create", "--name", "billing server")
    api_key = created["api_key"]

    service = ApiKeyService(DynamoApiKeyStore(Table(cli.stack.dynamodb, TABLE)))
    assert service.authenticate(f"Bearer {api_key}")
    assert not service.authenticate(f"Bearer {api_key}x")
    stored = [i for i in cli.stack.items_of("api_key") if i["name"] == "billing server"]
    assert [i["pk"] for i in stored] == [f"APIKEY#{key_hash(api_key)}"]
    assert all(api_key not in str(item) for item in cli.stack.items())
    # and the API itself takes it
    event = http_event(
        "api/create_campaign",
        headers={"authorization": f"Bearer {api_key}"},
        body={
            "name": "Via new key",
            "landing_url": "https://shop.example.com/",
            "reward": {"amount": "5.00", "currency": "USD"},
        },
    )
    response = api.handler(event, LambdaContext())
    assert response["statusCode"] == 201, json_body(response)


def test_the_human_output_shows_the_key_once(cli: Cli) -> None:
    out = cli.ok("api-keys", "create")

    [key_line] = [line.strip() for line in out.splitlines() if line.strip().startswith("rk_")]
    assert ApiKeyService(DynamoApiKeyStore(Table(cli.stack.dynamodb, TABLE))).authenticate(
        f"Bearer {key_line}"
    )
    assert "shown only this once" in out
