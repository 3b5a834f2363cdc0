"""`referrals campaigns create | list | show`, and the campaign listing underneath it."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import pytest

from referral_engine.adapters.dynamodb.campaigns import DynamoCampaignStore
from referral_engine.adapters.dynamodb.participants import DynamoParticipantStore
from referral_engine.adapters.dynamodb.table import Table
from referral_engine.domain.errors import InvalidRequest
from referral_engine.services.campaigns import CampaignService, NewCampaign
from support.aws import TABLE
from support.fakes import InMemoryBackend, World

if TYPE_CHECKING:
    from cli.conftest import Cli

API_URL = "https://api.example.test"  # the api_url of the `cli` fixture's outputs

CREATE = ("campaigns", "create", "--landing-url", "https://shop.example.com/welcome", "--currency", "usd")


def create(cli: Cli, name: str, *extra: str) -> dict[str, object]:
    created = cli.json(*CREATE, "--name", name, "--amount", "20.00", *extra)
    assert isinstance(created, dict)
    return created


def test_create_holds_the_rewards_for_the_days_given(cli: Cli) -> None:
    out = cli.ok(*CREATE, "--name", "Held", "--amount", "20.00", "--hold-days", "30")

    [item] = cli.stack.items_of("campaign")
    assert item["reward"]["hold_days"] == 30
    assert "20.00 USD to the advocate, held 30 days" in out


def test_create_stores_the_campaign_and_prints_its_webhook_url(cli: Cli) -> None:
    out = cli.ok(*CREATE, "--name", "Give 20, get 10", "--amount", "20.00", "--friend-amount", "10.00")

    [item] = cli.stack.items_of("campaign")
    assert item["name"] == "Give 20, get 10"
    assert item["reward"] == {
        "amount": Decimal("20.00"),
        "currency": "USD",
        "friend_amount": Decimal("10.00"),
        "hold_days": 0,
    }
    assert f"Created campaign {item['id']}" in out
    assert f"{API_URL}/hooks/generic/{item['hook_id']}" in out
    assert "20.00 USD to the advocate, 10.00 USD to the friend" in out


def test_create_with_a_milestone_defaults_its_currency_to_the_reward_currency(cli: Cli) -> None:
    created = create(cli, "Big spenders", "--min-amount", "50.00", "--within-days", "30")

    assert created["milestone"] == {"min_amount": "50.00", "currency": "USD", "within_days": 30}
    [item] = cli.stack.items_of("campaign")
    assert item["milestone"] == {"min_amount": Decimal("50.00"), "currency": "USD", "within_days": 30}


def test_show_prints_the_campaign_with_its_hook_url(cli: Cli) -> None:
    created = create(cli, "Spring")

    shown = cli.json("campaigns", "show", str(created["id"]))
    text = cli.ok("campaigns", "show", str(created["id"]))

    [item] = cli.stack.items_of("campaign")
    assert shown == created
    assert shown["hook_url"] == f"{API_URL}/hooks/generic/{item['hook_id']}"
    assert "hook_id" not in shown
    assert f"hook URL     {API_URL}/hooks/generic/{item['hook_id']}" in text


def test_list_is_newest_first_and_pages_with_a_cursor(cli: Cli) -> None:
    first, second, third = (create(cli, name) for name in ("first", "second", "third"))

    page = cli.json("campaigns", "list", "--limit", "2")
    rest = cli.json("campaigns", "list", "--limit", "2", "--cursor", page["next_cursor"])
    table = cli.ok("campaigns", "list")

    assert [c["id"] for c in page["items"]] == [third["id"], second["id"]]
    assert [c["id"] for c in rest["items"]] == [first["id"]]
    assert page["items"][0]["hook_url"].startswith(f"{API_URL}/hooks/generic/")
    lines = table.splitlines()
    assert lines[0].split()[:3] == ["ID", "NAME", "REWARD"]
    assert [line.split()[0] for line in lines[1:4]] == [third["id"], second["id"], first["id"]]


def test_list_without_campaigns_says_how_to_create_one(cli: Cli) -> None:
    assert "No campaigns yet" in cli.ok("campaigns", "list")
    assert cli.json("campaigns", "list") == {"items": [], "next_cursor": None}


def test_a_foreign_cursor_is_refused(cli: Cli) -> None:
    create(cli, "one")
    run = cli("campaigns", "list", "--cursor", "eyJwayI6ICJ4In0")

    assert run.code == 1
    assert run.err.strip() == "referrals: error: invalid_request: the cursor is not valid"


def test_invalid_input_fails_with_the_field_named(cli: Cli) -> None:
    run = cli(*CREATE[:-1], "EURO", "--name", "x", "--amount", "20")

    assert run.code == 1
    assert run.err.startswith("referrals: error: invalid input: reward.currency")
    assert cli.stack.items_of("campaign") == []


def test_show_of_an_unknown_campaign_exits_1_not_found(cli: Cli) -> None:
    run = cli("campaigns", "show", "cmp_missing")

    assert run.code == 1
    assert run.out == ""
    assert run.err == "referrals: error: not found: no campaign cmp_missing\n"


# The listing port itself: the fake and the DynamoDB adapter agree.
def _new(name: str) -> NewCampaign:
    return NewCampaign.model_validate(
        {"name": name, "landing_url": "https://shop.example/", "reward": {"amount": "5", "currency": "EUR"}},
    )


def test_the_fake_lists_newest_first_and_refuses_unknown_cursors() -> None:
    world = World(InMemoryBackend())
    made = [world.campaigns.create(_new(str(i))) for i in range(3)]

    page = world.campaigns.recent(limit=2)
    rest = world.campaigns.recent(limit=2, cursor=page.next_cursor)

    assert [c.id for c in page.items] == [made[2].id, made[1].id]
    assert [c.id for c in rest.items] == [made[0].id]
    assert rest.next_cursor is None
    with pytest.raises(InvalidRequest):
        world.campaigns.recent(cursor="not-issued")
    with pytest.raises(InvalidRequest):
        world.campaigns.recent(limit=0)


def test_the_adapter_indexes_campaigns_for_the_listing(cli: Cli) -> None:
    table = Table(cli.stack.dynamodb, TABLE)
    service = CampaignService(DynamoCampaignStore(table), DynamoParticipantStore(table))
    made = [service.create(_new(str(i))) for i in range(3)]

    [item] = [i for i in cli.stack.items_of("campaign") if i["id"] == made[0].id]
    assert item["gsi1pk"] == "CAMPAIGNS"
    assert item["gsi1sk"].endswith(f"#{made[0].id}")
    assert [c.id for c in service.recent(limit=10).items] == [m.id for m in reversed(made)]
    with pytest.raises(InvalidRequest):
        service.recent(cursor="bm90LWEtY3Vyc29y")
