"""Identity policies judged as AWS judges them: an explicit deny wins, an allow must name the action
and the resource, wildcards, NotAction, NotResource; a condition is refused, never ignored."""

from __future__ import annotations

import pytest

from referrals_local.stack.iam_policy import Decision, Policy, UnsupportedPolicy

TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/referrals"

POLICY = Policy.compile(
    [
        {
            "Statement": [
                {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:Query"], "Resource": TABLE}
            ]
        },
        {
            "Statement": {
                "Effect": "Allow",
                "Action": "dynamodb:Query",
                "Resource": f"{TABLE}/index/*",
            }
        },
        {"Statement": [{"Effect": "Allow", "Action": "logs:*", "Resource": "*"}]},
        {"Statement": [{"Effect": "Deny", "Action": "logs:DeleteLogGroup", "Resource": "*"}]},
    ]
)


@pytest.mark.parametrize(
    ("action", "resource", "decision"),
    [
        ("dynamodb:GetItem", TABLE, Decision.ALLOWED),
        ("DynamoDB:getitem", TABLE, Decision.ALLOWED),  # actions ignore case
        ("dynamodb:GetItem", TABLE.upper(), Decision.IMPLICITLY_DENIED),  # resources do not
        ("dynamodb:PutItem", TABLE, Decision.IMPLICITLY_DENIED),
        ("dynamodb:GetItem", f"{TABLE}-copy", Decision.IMPLICITLY_DENIED),  # whole ARNs only
        ("dynamodb:Query", f"{TABLE}/index/gsi1", Decision.ALLOWED),
        ("dynamodb:GetItem", f"{TABLE}/index/gsi1", Decision.IMPLICITLY_DENIED),
        ("dynamodb:ListTables", "*", Decision.IMPLICITLY_DENIED),
        ("logs:PutLogEvents", "arn:aws:logs:us-east-1:123456789012:log-group:x", Decision.ALLOWED),
        ("logs:DeleteLogGroup", "*", Decision.EXPLICITLY_DENIED),
    ],
)
def test_a_request_is_allowed_only_by_a_statement_naming_its_action_and_resource(
    action: str, resource: str, decision: Decision
) -> None:
    assert POLICY.decide(action, resource) is decision
    assert POLICY.decide(action, resource) is decision  # and again, from the memo


def test_not_action_and_not_resource_allow_everything_but_what_they_name() -> None:
    policy = Policy.compile(
        [{"Statement": [{"Effect": "Allow", "NotAction": "ssm:*", "NotResource": f"{TABLE}/index/*"}]}]
    )
    assert policy.decide("dynamodb:PutItem", TABLE) is Decision.ALLOWED
    assert policy.decide("ssm:GetParameter", "*") is Decision.IMPLICITLY_DENIED
    assert policy.decide("dynamodb:Query", f"{TABLE}/index/gsi1") is Decision.IMPLICITLY_DENIED


def test_a_condition_is_refused_when_compiled_rather_than_ignored() -> None:
    statement = {
        "Effect": "Allow",
        "Action": "dynamodb:GetItem",
        "Resource": TABLE,
        "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["a"]}},
    }
    with pytest.raises(UnsupportedPolicy, match="Condition"):
        Policy.compile([{"Statement": [statement]}])
