"""A campaign's fraud policy as a request gives it: defaults for what is left out, nothing unknown."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from referral_engine.domain.fraud import Action, FraudPolicy
from referral_engine.services.fraud_policy_request import FraudPolicyRequest


def test_what_is_left_out_takes_the_documented_default() -> None:
    assert FraudPolicyRequest().policy() == FraudPolicy()
    policy = FraudPolicyRequest.model_validate(
        {"self_referral": "reject", "limits": {"network_per_hour": 2}}
    ).policy()
    assert (policy.self_referral, policy.duplicate_person) == (Action.REJECT, Action.REVIEW)
    assert (policy.limits.network_per_hour, policy.limits.network_per_day) == (2, 20)


def test_blocked_domains_are_compared_as_the_checks_compare_them() -> None:
    request = FraudPolicyRequest.model_validate(
        {"blocked": {"email_domains": ["BÜCHER.de", "Mail.Example."], "codes": ["ABC234DEF567"]}}
    )
    blocked = request.policy().blocked
    assert blocked.email_domains == {"xn--bcher-kva.de", "mail.example"}
    assert blocked.codes == {"abc234def567"}


@pytest.mark.parametrize(
    "body",
    [
        {"self_referal": "reject"},
        {"velocity": "block"},
        {"limits": {"network_per_hour": 0}},
        {"limits": {"network_per_hour": "5"}},
        {"blocked": {"emails": ["a@b.c"]}},
    ],
)
def test_an_unknown_rule_action_or_field_is_refused(body: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        FraudPolicyRequest.model_validate(body)
