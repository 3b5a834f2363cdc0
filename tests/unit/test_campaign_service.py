"""Creating campaigns and enrolling advocates."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from pydantic import ValidationError

from referral_engine.domain.errors import CampaignInactive, NotFound
from referral_engine.domain.records import replace
from referral_engine.services import campaigns as campaigns_module
from referral_engine.services.campaigns import CODE_ATTEMPTS, NewAdvocate, NewCampaign
from support.fakes import World


def codes(*values: str) -> Iterator[str]:
    yield from values


def test_create_stores_the_campaign_with_its_own_webhook_id(world: World) -> None:
    # When a campaign is created
    campaign = world.a_campaign(
        amount="10", currency="EUR", friend_amount="5", milestone={"min_amount": "20", "currency": "EUR"}
    )

    # Then it is stored, active, with an unguessable hook id that finds it
    assert world.campaigns.get(campaign.id) == campaign
    assert campaign.id.startswith("cmp_")
    assert campaign.status == "active"
    assert len(campaign.hook_id) >= 20
    assert world.backend.campaigns.by_hook(campaign.hook_id) == campaign
    assert campaign.reward.friend_amount == Decimal(5)
    assert campaign.milestone.min_amount == Decimal(20)
    assert campaign.landing_url == "https://shop.example/welcome"


def test_two_campaigns_get_different_ids_and_hook_ids(world: World) -> None:
    first, second = world.a_campaign(), world.a_campaign()
    assert first.id != second.id
    assert first.hook_id != second.hook_id


@pytest.mark.parametrize(
    "landing_url",
    ["javascript:alert(1)", "ftp://shop.example/", "https://user:secret@shop.example/", "/relative", ""],
)
def test_a_campaign_needs_a_plain_http_landing_url(landing_url: str) -> None:
    with pytest.raises(ValidationError):
        NewCampaign.model_validate(
            {"name": "Spring", "landing_url": landing_url, "reward": {"amount": "10", "currency": "EUR"}},
        )


def test_get_of_an_unknown_campaign_is_not_found(world: World) -> None:
    with pytest.raises(NotFound):
        world.campaigns.get("cmp_missing")


def test_enrol_gives_the_advocate_a_code_and_the_campaign_landing_url(world: World) -> None:
    campaign = world.a_campaign()

    participant, created = world.campaigns.enrol_advocate(
        campaign.id, NewAdvocate(email="ann@example.com", name=" Ann ", external_ids={"hubspot": "42"})
    )

    assert created
    assert len(participant.code) == 12
    assert participant.landing_url == campaign.landing_url
    assert participant.name == "Ann"
    assert participant.referral_id is None
    assert world.backend.participants.get(participant.code) == participant


def test_enrolling_the_same_email_again_returns_the_same_code(world: World) -> None:
    # Given an advocate enrolled as ann@example.com
    campaign = world.a_campaign()
    first, _ = world.campaigns.enrol_advocate(campaign.id, NewAdvocate(email="ann@example.com"))

    # When the same person enrols again, typed differently
    again, created = world.campaigns.enrol_advocate(campaign.id, NewAdvocate(email="  ANN@Example.com "))

    # Then they get their existing code, nothing new is created
    assert not created
    assert again.code == first.code
    assert len(world.backend.participants.participants) == 1


def test_the_same_email_in_another_campaign_is_another_advocate(world: World) -> None:
    spring, autumn = world.a_campaign(), world.a_campaign()
    in_spring = world.an_advocate(spring, "ann@example.com")
    in_autumn, created = world.campaigns.enrol_advocate(autumn.id, NewAdvocate(email="ann@example.com"))
    assert created
    assert in_autumn.code != in_spring.code


def test_a_code_collision_is_retried_with_a_new_code(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a code that is already someone's
    campaign = world.a_campaign()
    taken = world.an_advocate(campaign, "ann@example.com").code
    monkeypatch.setattr(campaigns_module, "new_code", codes(taken, taken, "fresh2345wxy").__next__)

    # When another advocate enrols and the generator happens to draw it
    participant, created = world.campaigns.enrol_advocate(campaign.id, NewAdvocate(email="bob@example.com"))

    # Then a new code is drawn, and the first owner keeps theirs
    assert created
    assert participant.code == "fresh2345wxy"
    assert world.participant(taken).email == "ann@example.com"


def test_enrolment_gives_up_after_a_bounded_number_of_collisions(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    campaign = world.a_campaign()
    taken = world.an_advocate(campaign, "ann@example.com").code
    draws = []

    def always_taken() -> str:
        draws.append(taken)
        return taken

    monkeypatch.setattr(campaigns_module, "new_code", always_taken)

    with pytest.raises(RuntimeError, match="free referral code"):
        world.campaigns.enrol_advocate(campaign.id, NewAdvocate(email="bob@example.com"))
    assert len(draws) == CODE_ATTEMPTS
    assert world.backend.participants.by_email(campaign.id, "bob@example.com") is None


def test_enrolling_in_an_unknown_campaign_is_not_found(world: World) -> None:
    with pytest.raises(NotFound):
        world.campaigns.enrol_advocate("cmp_missing", NewAdvocate(email="ann@example.com"))


def test_enrolling_in_a_paused_campaign_is_refused(world: World) -> None:
    campaign = world.a_campaign()
    world.backend.campaigns.replace(replace(campaign, **{"status": "paused"}))

    with pytest.raises(CampaignInactive):
        world.campaigns.enrol_advocate(campaign.id, NewAdvocate(email="ann@example.com"))
    assert world.backend.participants.participants == {}


@pytest.mark.parametrize(
    "advocate",
    [
        {"email": "not-an-email"},
        {"email": "ann@example.com", "name": "   "},
        {"email": "ann@example.com", "external_ids": {"HubSpot": "1"}},
        {"email": "ann@example.com", "external_ids": {"hubspot": ""}},
        {"email": "ann@example.com", "role": "admin"},
    ],
)
def test_an_advocate_request_is_validated(advocate: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        NewAdvocate.model_validate(advocate)


def test_an_advocate_is_shown_with_every_click_counted_for_the_code(world: World) -> None:
    campaign = world.a_campaign()
    first, _ = world.campaigns.enrol_advocate(campaign.id, NewAdvocate(email="ann@example.com"))
    # 10 clicks on the participant item itself (from before the shards, or a container's first click)
    world.backend.participants.update(first.code, clicks=10)
    world.backend.participants.click_shards[first.code] = {0: 3, 7: 2}

    again, created = world.campaigns.enrol_advocate(campaign.id, NewAdvocate(email="ann@example.com"))
    shown, _ = world.campaigns.participant(first.code)

    assert not created
    assert again.clicks == shown.clicks == 15
