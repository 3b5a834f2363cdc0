"""The fraud checks, rule by rule, with the spellings and devices people really use; then the policy
and the verdict that combines them."""

from __future__ import annotations

from typing import Any

import pytest

from referral_engine.domain.errors import FraudRejected
from referral_engine.domain.fingerprints import FingerprintKey, ip_fingerprint, user_agent_fingerprint
from referral_engine.domain.fraud import (
    RULE_OF,
    Action,
    Finding,
    FraudPolicy,
    FraudRule,
    Reason,
    VelocityLimits,
    assess,
    blocklist,
    disposable_email,
    duplicate_person,
    existing_customer,
    self_referral,
    velocity,
)
from referral_engine.domain.fraud_evidence import (
    Blocklist,
    Device,
    FraudEvidence,
    KnownPerson,
    Person,
    RecentCounts,
)
from referral_engine.domain.records import Invalid, json_values, parse, replace

KEY = FingerprintKey.from_text("a-deployment-secret-of-32-chars!")
FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Version/18.1 Safari/604.1"
)


def device(ip: str, user_agent: str) -> Device:
    return Device(ip=ip_fingerprint(KEY, ip), user_agent=user_agent_fingerprint(KEY, user_agent))


ADA_LAPTOP = device("81.2.69.160", FIREFOX)
GRACE_PHONE = device("2a00:1450:4001:81d::200e", SAFARI)


def evidence(
    friend: str = "grace@example.org",
    *,
    friend_ids: dict[str, str] | None = None,
    friend_devices: tuple[Device, ...] = (GRACE_PHONE,),
    advocate: str = "ada@example.com",
    advocate_ids: dict[str, str] | None = None,
    advocate_devices: tuple[Device, ...] = (ADA_LAPTOP,),
    **rest: Any,
) -> FraudEvidence:
    return FraudEvidence(
        referred=Person.of(friend, friend_ids, friend_devices),
        advocate_code="ada-code",
        advocate=Person.of(advocate, advocate_ids, advocate_devices),
        **rest,
    )


def reasons(findings: list[Finding]) -> list[Reason]:
    return [finding.reason for finding in findings]


def test_an_ordinary_friend_draws_no_finding_and_is_allowed() -> None:
    verdict = assess(evidence(), FraudPolicy())

    assert verdict.action is Action.ALLOW
    assert verdict.findings == ()
    assert verdict.reasons == []


# ----------------------------------------------------------------------------------- self-referral


@pytest.mark.parametrize(
    ("advocate", "friend", "domain"),
    [
        ("ada@example.com", "ada+x@Example.com", "example.com"),
        ("ada.lovelace@gmail.com", "adalovelace+ref@googlemail.com", "gmail.com"),
        ("Ada@Bücher.de", "ada+2@xn--bcher-kva.de", "xn--bcher-kva.de"),
    ],
)
def test_a_friend_who_is_the_advocate_by_another_spelling_is_a_self_referral(
    advocate: str, friend: str, domain: str
) -> None:
    findings = self_referral(evidence(friend, advocate=advocate))

    assert reasons(findings) == [Reason.SELF_REFERRAL_EMAIL]
    assert findings[0].rule is FraudRule.SELF_REFERRAL
    # the domain an admin may need, never the address
    assert findings[0].seen == {"advocate_code": "ada-code", "email_domain": domain}


def test_the_same_external_id_as_the_advocate_is_a_self_referral() -> None:
    findings = self_referral(
        evidence(friend_ids={"crm": "42", "shop": "7"}, advocate_ids={"crm": "42", "shop": "8"})
    )

    assert reasons(findings) == [Reason.SELF_REFERRAL_EXTERNAL_ID]
    assert findings[0].seen == {"advocate_code": "ada-code", "external_ids": ["crm"]}


def test_the_advocates_own_browser_on_the_advocates_network_is_a_self_referral() -> None:
    # Ada clicks her own link from her laptop and signs up again as someone else
    findings = self_referral(evidence(friend_devices=(device("81.2.69.160", FIREFOX),)))

    assert reasons(findings) == [Reason.SELF_REFERRAL_DEVICE]
    assert findings[0].seen == {
        "advocate_code": "ada-code",
        "ip": ADA_LAPTOP.ip,
        "user_agent": ADA_LAPTOP.user_agent,
    }
    assert "81.2.69.160" not in str(findings[0].seen)


def test_a_flatmate_on_the_same_network_with_another_browser_is_no_self_referral() -> None:
    assert self_referral(evidence(friend_devices=(device("81.2.69.160", SAFARI),))) == []


def test_a_device_half_unknown_matches_nothing() -> None:
    half = Device(ip=ADA_LAPTOP.ip)
    assert self_referral(evidence(friend_devices=(half,), advocate_devices=(half,))) == []


# ----------------------------------------------------------------------------------- duplicates


def test_a_friend_already_referred_under_another_spelling_is_a_duplicate() -> None:
    earlier = KnownPerson(id="ref_1", role="referred", person=Person.of("Grace.Hopper@gmail.com"))
    findings = duplicate_person(evidence("gracehopper+again@gmail.com", known=(earlier,)))

    assert reasons(findings) == [Reason.DUPLICATE_EMAIL]
    assert findings[0].seen == {"referral_ids": ["ref_1"]}


def test_a_friend_already_referred_under_their_crm_id_is_a_duplicate() -> None:
    earlier = KnownPerson(id="ref_2", role="referred", person=Person.of("g@work.example", {"crm": "9"}))
    findings = duplicate_person(evidence(friend_ids={"crm": "9"}, known=(earlier,)))

    assert reasons(findings) == [Reason.DUPLICATE_EXTERNAL_ID]
    assert findings[0].seen == {"referral_ids": ["ref_2"]}


def test_someone_else_the_lookup_found_is_no_duplicate() -> None:
    other = KnownPerson(id="ref_3", role="referred", person=Person.of("g.race@example.org"))
    assert duplicate_person(evidence(known=(other,))) == []


# ----------------------------------------------------------------------------------- disposable


@pytest.mark.parametrize(
    "friend", ["grace@mailinator.com", "Grace+1@Guerrillamail.com", "g@10minutemail.com"]
)
def test_a_disposable_email_domain_is_found_with_the_listed_domain(friend: str) -> None:
    findings = disposable_email(evidence(friend))

    assert reasons(findings) == [Reason.DISPOSABLE_EMAIL_DOMAIN]
    assert findings[0].seen["email_domain"] == friend.rpartition("@")[2].lower()


@pytest.mark.parametrize("friend", ["grace@gmail.com", "grace@outlook.com", "grace@proton.me"])
def test_mainstream_mail_is_not_disposable(friend: str) -> None:
    assert disposable_email(evidence(friend)) == []


# ----------------------------------------------------------------------------------- velocity


def test_velocity_counts_this_referral_against_the_limits() -> None:
    limits = VelocityLimits(advocate_per_hour=3, advocate_per_day=5, network_per_hour=2, network_per_day=4)

    at_the_limit = RecentCounts(
        advocate_referrals_hour=2, advocate_referrals_day=4, network_signups_hour=1, network_signups_day=3
    )
    assert velocity(evidence(recent=at_the_limit), limits) == []

    over = RecentCounts(
        advocate_referrals_hour=3, advocate_referrals_day=5, network_signups_hour=2, network_signups_day=4
    )
    findings = velocity(evidence(recent=over), limits)
    assert reasons(findings) == [
        Reason.VELOCITY_ADVOCATE_HOUR,
        Reason.VELOCITY_ADVOCATE_DAY,
        Reason.VELOCITY_NETWORK_HOUR,
        Reason.VELOCITY_NETWORK_DAY,
    ]
    assert findings[0].seen == {"advocate_code": "ada-code", "count": 4, "limit": 3}
    assert findings[2].seen == {"ip": GRACE_PHONE.ip, "count": 3, "limit": 2}


def test_without_a_known_network_only_the_advocates_velocity_counts() -> None:
    many = RecentCounts(network_signups_hour=1000, network_signups_day=1000)
    assert velocity(evidence(friend_devices=(), recent=many), VelocityLimits()) == []


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="network_per_day: from 1"):
        VelocityLimits(network_per_day=0)


# ----------------------------------------------------------------------------------- existing customers


def test_a_friend_the_business_declares_a_customer_is_an_existing_customer() -> None:
    assert reasons(existing_customer(evidence(declared_existing_customer=True))) == [
        Reason.EXISTING_CUSTOMER_DECLARED
    ]


def test_a_friend_who_is_an_advocate_or_a_known_customer_is_an_existing_customer() -> None:
    known = (
        KnownPerson(id="grace-code", role="advocate", person=Person.of("GRACE+promo@example.org")),
        KnownPerson(id="cus-7", role="customer", person=Person.of("x@example.net", {"shop": "7"})),
        KnownPerson(id="ref_9", role="referred", person=Person.of("grace@example.org")),  # a duplicate's
    )
    findings = existing_customer(evidence(friend_ids={"shop": "7"}, known=known))

    assert reasons(findings) == [Reason.EXISTING_CUSTOMER_ADVOCATE, Reason.EXISTING_CUSTOMER_KNOWN]
    assert [finding.seen for finding in findings] == [
        {"code": "grace-code", "matched_on": "email"},
        {"code": "cus-7", "matched_on": "external_id"},
    ]


def test_the_advocate_found_by_the_lookup_is_a_self_referral_not_an_existing_customer() -> None:
    herself = KnownPerson(id="ada-code", role="advocate", person=Person.of("ada@example.com"))
    case = evidence("ada+x@example.com", known=(herself,))

    assert existing_customer(case) == []
    assert reasons(self_referral(case)) == [Reason.SELF_REFERRAL_EMAIL]


# ----------------------------------------------------------------------------------- blocklists


def test_blocklists_match_email_domains_with_their_subdomains_fingerprints_and_codes() -> None:
    blocked = Blocklist(
        email_domains=frozenset({"example.org"}),
        fingerprints=frozenset({GRACE_PHONE.user_agent or ""}),
        codes=frozenset({"ada-code"}),
    )
    findings = blocklist(evidence("grace@mail.example.org", blocklist=blocked))

    assert reasons(findings) == [Reason.BLOCKED_EMAIL_DOMAIN, Reason.BLOCKED_FINGERPRINT, Reason.BLOCKED_CODE]
    assert [finding.seen for finding in findings] == [
        {"email_domain": "example.org"},
        {"fingerprint": GRACE_PHONE.user_agent},
        {"advocate_code": "ada-code"},
    ]


def test_a_domain_that_only_ends_like_a_blocked_one_is_not_blocked() -> None:
    blocked = Blocklist(email_domains=frozenset({"example.org"}))
    assert blocklist(evidence("grace@notexample.org", blocklist=blocked)) == []


# ----------------------------------------------------------------------------------- policy and verdict


def test_every_reason_code_belongs_to_one_rule_and_the_codes_are_stable() -> None:
    assert set(RULE_OF) == set(Reason)
    assert {reason.value for reason in Reason} >= {"self_referral_email", "disposable_email_domain"}


def test_the_default_policy_rejects_what_the_business_states_and_reviews_inferences() -> None:
    policy = FraudPolicy()

    assert {rule: policy.action_for(rule) for rule in FraudRule} == {
        FraudRule.SELF_REFERRAL: Action.REVIEW,
        FraudRule.DUPLICATE_PERSON: Action.REVIEW,
        FraudRule.DISPOSABLE_EMAIL: Action.REVIEW,
        FraudRule.VELOCITY: Action.REVIEW,
        FraudRule.EXISTING_CUSTOMER: Action.REJECT,
        FraudRule.BLOCKLIST: Action.REJECT,
    }


def test_a_plus_tag_self_referral_lands_in_review_by_default() -> None:
    verdict = assess(evidence("ada+x@Example.com"), FraudPolicy())

    assert verdict.action is Action.REVIEW
    assert verdict.reasons == [Reason.SELF_REFERRAL_EMAIL]


def test_reject_wins_over_review_and_the_verdict_names_the_rejecting_reasons() -> None:
    case = evidence("ada+x@mailinator.com", advocate="ada@mailinator.com", declared_existing_customer=True)
    verdict = assess(case, FraudPolicy())

    assert verdict.action is Action.REJECT
    assert verdict.reasons == [Reason.EXISTING_CUSTOMER_DECLARED]
    assert [(finding.reason, finding.action) for finding in verdict.findings] == [
        (Reason.SELF_REFERRAL_EMAIL, Action.REVIEW),
        (Reason.DISPOSABLE_EMAIL_DOMAIN, Action.REVIEW),
        (Reason.EXISTING_CUSTOMER_DECLARED, Action.REJECT),
    ]


def test_a_rejected_referral_is_refused_with_its_reason_codes_and_a_reviewed_one_is_not() -> None:
    rejected = assess(evidence(declared_existing_customer=True), FraudPolicy())
    with pytest.raises(FraudRejected) as refused:
        rejected.refuse_if_rejected()
    assert refused.value.code == "fraud_rejected"
    assert refused.value.reasons == ["existing_customer_declared"]
    assert "existing_customer_declared" in refused.value.message

    assess(evidence("ada+x@example.com"), FraudPolicy()).refuse_if_rejected()  # review: no refusal


def test_an_allowed_rule_keeps_its_findings_without_changing_the_verdict() -> None:
    policy = replace(FraudPolicy(), self_referral=Action.ALLOW)
    verdict = assess(evidence("ada+x@example.com"), policy)

    assert verdict.action is Action.ALLOW
    assert [(finding.reason, finding.action) for finding in verdict.findings] == [
        (Reason.SELF_REFERRAL_EMAIL, Action.ALLOW)
    ]


def test_a_campaign_may_reject_self_referrals_outright() -> None:
    policy = replace(FraudPolicy(), self_referral=Action.REJECT)
    assert assess(evidence("ada+x@example.com"), policy).action is Action.REJECT


def test_a_verdict_is_plain_json_with_no_raw_address_in_it() -> None:
    case = evidence(
        "ada+x@example.com",
        friend_devices=(ADA_LAPTOP,),
        recent=RecentCounts(network_signups_hour=99),
    )
    written = str(json_values(assess(case, FraudPolicy())))

    assert "81.2.69.160" not in written
    assert "ada@" not in written
    assert "self_referral_device" in written


def test_a_policy_is_read_from_a_campaigns_settings_and_an_unknown_action_is_refused() -> None:
    policy = parse(FraudPolicy, {"self_referral": "reject", "limits": {"advocate_per_hour": 3}})

    assert policy.action_for(FraudRule.SELF_REFERRAL) is Action.REJECT
    assert policy.action_for(FraudRule.BLOCKLIST) is Action.REJECT
    assert policy.limits == VelocityLimits(advocate_per_hour=3)
    with pytest.raises(Invalid, match="Invalid enum value"):
        parse(FraudPolicy, {"velocity": "block"})
    with pytest.raises(Invalid, match="advocate_per_day: from 1"):
        parse(FraudPolicy, {"limits": {"advocate_per_day": 0}})
