"""Recording referred signups and reading referrals."""

from __future__ import annotations

import pytest

from referral_engine.domain.errors import (
    AlreadyParticipant,
    CampaignInactive,
    ExternalIdTaken,
    FraudRejected,
    InvalidRequest,
    NotFound,
)
from referral_engine.domain.models import ReferralStatus
from referral_engine.domain.records import replace
from referral_engine.services import referrals as referrals_module
from referral_engine.services.referrals import NewSignup
from support.fakes import World


def test_a_signup_with_a_code_is_attributed_to_its_advocate(world: World) -> None:
    # Given an advocate
    campaign = world.a_campaign()
    advocate = world.an_advocate(campaign, "ann@example.com")

    # When a friend signs up with the advocate's code
    referral, created = world.referrals.sign_up(
        NewSignup(code=advocate.code, email="bob@example.com", name="Bob"), actor="api:test"
    )

    # Then a pending referral links them, and the advocate's count goes up
    assert created
    assert referral.id.startswith("ref_")
    assert (referral.campaign_id, referral.advocate_code) == (campaign.id, advocate.code)
    assert referral.referred_email == "bob@example.com"
    assert referral.status is ReferralStatus.PENDING
    assert world.referral(referral.id) == referral
    assert world.participant(advocate.code).referrals == 1
    history = world.history(referral.id)
    assert [(entry.action, entry.actor, entry.to_status) for entry in history.audit] == [
        ("referral.created", "api:test", ReferralStatus.PENDING)
    ]


def test_the_friend_gets_a_code_of_their_own_that_refers_others(world: World) -> None:
    campaign = world.a_campaign()
    advocate = world.an_advocate(campaign)

    referral = world.a_referral(advocate, "bob@example.com")

    friend = world.participant(referral.referred_code)
    assert friend.code != advocate.code
    assert len(friend.code) == 12
    assert (friend.email, friend.referral_id, friend.landing_url) == (
        "bob@example.com",
        referral.id,
        campaign.landing_url,
    )
    # and the friend can bring friends of their own
    next_referral = world.a_referral(friend, "carol@example.com")
    assert next_referral.advocate_code == friend.code
    assert world.participant(friend.code).referrals == 1


def test_the_code_may_be_typed_in_any_case_with_spaces(world: World) -> None:
    advocate = world.an_advocate(world.a_campaign())
    referral, created = world.referrals.sign_up(
        NewSignup(code=f"  {advocate.code.upper()} ", email="Bob@Example.com"), actor="test"
    )
    assert created
    assert referral.advocate_code == advocate.code
    assert referral.referred_email == "bob@example.com"


def test_the_first_referral_of_an_email_stands(world: World) -> None:
    # Given bob was referred by ann
    campaign = world.a_campaign()
    ann = world.an_advocate(campaign, "ann@example.com")
    carl = world.an_advocate(campaign, "carl@example.com")
    first = world.a_referral(ann, "bob@example.com")

    # When bob signs up again, with ann's code and then with carl's
    again, created_again = world.referrals.sign_up(
        NewSignup(code=ann.code, email="BOB@example.com"), actor="t"
    )
    other, created_other = world.referrals.sign_up(
        NewSignup(code=carl.code, email="bob@example.com"), actor="t"
    )

    # Then both answers are the first referral, and nobody's count moved twice
    assert (again, created_again) == (first, False)
    assert (other, created_other) == (first, False)
    assert world.participant(ann.code).referrals == 1
    assert world.participant(carl.code).referrals == 0
    assert len(world.backend.referrals.referrals) == 1


def test_a_repeated_signup_with_its_own_external_ids_is_still_the_same_referral(world: World) -> None:
    advocate = world.an_advocate(world.a_campaign())
    first = world.a_referral(advocate, "bob@example.com", external_ids={"hubspot": "7"})

    again, created = world.referrals.sign_up(
        NewSignup(code=advocate.code, email="bob@example.com", external_ids={"hubspot": "7"}), actor="t"
    )

    assert (again.id, created) == (first.id, False)


def test_an_advocate_cannot_refer_themselves(world: World) -> None:
    campaign = world.a_campaign()
    advocate = world.an_advocate(campaign, "ann@example.com")

    with pytest.raises(FraudRejected) as refused:
        world.referrals.sign_up(NewSignup(code=advocate.code, email="Ann@Example.com"), actor="t")
    assert refused.value.reasons == ["self_referral_email"]
    assert world.participant(advocate.code).referrals == 0
    assert world.backend.referrals.referrals == {}
    [(campaign_id, audit)] = world.backend.signup_evidence.refusals
    assert (campaign_id, audit.action, audit.detail["fraud"]["reasons"]) == (
        campaign.id,
        "referral.refused",
        ["self_referral_email"],
    )


def test_the_advocate_by_another_spelling_is_a_referral_in_review(world: World) -> None:
    advocate = world.an_advocate(world.a_campaign(), "ann.lee@gmail.com")

    referral, created = world.referrals.sign_up(
        NewSignup(code=advocate.code, email="AnnLee+friend@googlemail.com"), actor="t"
    )

    assert (created, referral.status) == (True, ReferralStatus.IN_REVIEW)
    [entry] = world.history(referral.id).audit
    assert entry.detail["fraud"]["reasons"] == ["self_referral_email"]


@pytest.mark.parametrize("code", ["zzzz2345wxyz", "../x", "", "<script>"])
def test_an_unknown_or_malformed_code_is_not_found(world: World, code: str) -> None:
    world.an_advocate(world.a_campaign())
    with pytest.raises(NotFound):
        world.referrals.sign_up(NewSignup(code=code, email="bob@example.com"), actor="t")
    assert world.backend.referrals.referrals == {}


def test_an_advocate_of_the_campaign_cannot_become_someone_elses_referral(world: World) -> None:
    # Given two advocates of one campaign
    campaign = world.a_campaign()
    ann = world.an_advocate(campaign, "ann@example.com")
    world.an_advocate(campaign, "dora@example.com")

    # When dora signs up with ann's code
    with pytest.raises(AlreadyParticipant):
        world.referrals.sign_up(NewSignup(code=ann.code, email="dora@example.com"), actor="t")

    # Then nothing was recorded
    assert world.participant(ann.code).referrals == 0
    assert world.backend.referrals.referrals == {}


def test_an_external_id_belongs_to_one_referral(world: World) -> None:
    # Given bob's referral carries hubspot id 7
    advocate = world.an_advocate(world.a_campaign())
    world.a_referral(advocate, "bob@example.com", external_ids={"hubspot": "7"})

    # When another person signs up claiming the same id
    with pytest.raises(ExternalIdTaken):
        world.referrals.sign_up(
            NewSignup(
                code=advocate.code, email="carol@example.com", external_ids={"hubspot": "7", "crm": "1"}
            ),
            actor="t",
        )

    # Then carol was not recorded at all, and the count still says one
    assert world.backend.participants.by_email(advocate.campaign_id, "carol@example.com") is None
    assert world.participant(advocate.code).referrals == 1
    assert len(world.backend.referrals.referrals) == 1


def test_the_same_vendor_id_from_another_source_is_no_conflict(world: World) -> None:
    advocate = world.an_advocate(world.a_campaign())
    world.a_referral(advocate, "bob@example.com", external_ids={"hubspot": "7"})
    carol = world.a_referral(advocate, "carol@example.com", external_ids={"salesforce": "7"})
    assert carol.external_ids == {"salesforce": "7"}


def test_signups_in_a_paused_campaign_are_refused(world: World) -> None:
    campaign = world.a_campaign()
    advocate = world.an_advocate(campaign)
    world.backend.campaigns.replace(replace(campaign, **{"status": "paused"}))

    with pytest.raises(CampaignInactive):
        world.referrals.sign_up(NewSignup(code=advocate.code, email="bob@example.com"), actor="t")


def test_a_code_collision_is_retried(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    campaign = world.a_campaign()
    advocate = world.an_advocate(campaign, "ann@example.com")
    draws = iter([advocate.code, "fresh2345wxy"])
    monkeypatch.setattr(referrals_module, "new_code", draws.__next__)

    referral, created = world.referrals.sign_up(
        NewSignup(code=advocate.code, email="bob@example.com"), actor="t"
    )

    assert created
    assert referral.referred_code == "fresh2345wxy"
    assert world.participant(advocate.code).email == "ann@example.com"
    assert world.participant(advocate.code).referrals == 1


def test_history_of_an_unknown_referral_is_not_found(world: World) -> None:
    with pytest.raises(NotFound):
        world.referrals.history("ref_missing")


def test_list_pages_through_a_campaigns_referrals(world: World) -> None:
    # Given five referrals in one campaign and one in another
    campaign = world.a_campaign()
    advocate = world.an_advocate(campaign)
    made = [world.a_referral(advocate, f"friend{i}@example.com") for i in range(5)]
    world.a_referral(world.an_advocate(world.a_campaign()), "elsewhere@example.com")

    # When they are listed two at a time
    seen, cursor = [], None
    for _ in range(5):
        page = world.referrals.list(
            campaign.id, status=None, sort="joined_at", descending=False, limit=2, cursor=cursor
        )
        seen += page.items
        cursor = page.next_cursor
        if cursor is None:
            break

    # Then each of the campaign's referrals appears once, oldest first
    assert sorted(r.id for r in seen) == sorted(r.id for r in made)
    assert seen == sorted(seen, key=lambda r: (r.joined_at, r.id))


def test_list_of_an_unknown_campaign_is_not_found(world: World) -> None:
    with pytest.raises(NotFound):
        world.referrals.list(
            "cmp_missing", status=None, sort="joined_at", descending=True, limit=10, cursor=None
        )


@pytest.mark.parametrize("cursor", ["garbage", "eyJwayI6ICJ4In0", "cursor-999"])
def test_list_with_a_cursor_it_did_not_issue_is_an_invalid_request(world: World, cursor: str) -> None:
    campaign = world.a_campaign()
    with pytest.raises(InvalidRequest, match="cursor"):
        world.referrals.list(
            campaign.id, status=None, sort="joined_at", descending=True, limit=10, cursor=cursor
        )


def test_a_cursor_of_one_campaign_is_refused_for_another(world: World) -> None:
    spring = world.a_campaign()
    advocate = world.an_advocate(spring)
    for i in range(3):
        world.a_referral(advocate, f"friend{i}@example.com")
    page = world.referrals.list(
        spring.id, status=None, sort="joined_at", descending=True, limit=1, cursor=None
    )
    assert page.next_cursor is not None
    autumn = world.a_campaign()

    with pytest.raises(InvalidRequest):
        world.referrals.list(
            autumn.id, status=None, sort="joined_at", descending=True, limit=1, cursor=page.next_cursor
        )


def test_a_friend_already_referred_under_another_spelling_is_reviewed_not_merged(world: World) -> None:
    advocate = world.an_advocate(world.a_campaign(), "ann@example.com")
    first = world.a_referral(advocate, "bob.smith@gmail.com")

    again, created = world.referrals.sign_up(
        NewSignup(code=advocate.code, email="BobSmith+promo@gmail.com"), actor="t"
    )

    assert created
    assert again.id != first.id
    assert again.status is ReferralStatus.IN_REVIEW
    [entry] = world.history(again.id).audit
    assert entry.detail["fraud"]["reasons"] == ["duplicate_email"]
    assert entry.detail["fraud"]["findings"][0]["seen"] == {"referral_ids": [first.id]}


def test_a_malformed_ip_is_refused_at_the_edge() -> None:
    with pytest.raises(ValueError, match="not an IPv4 or IPv6 address"):
        NewSignup(code="abc", email="bob@example.com", ip="81.2.69.160:443")
    assert NewSignup(code="abc", email="bob@example.com", ip=" 2a00:1450::1 ").ip == "2a00:1450::1"
