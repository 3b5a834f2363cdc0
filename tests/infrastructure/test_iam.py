"""The functions' permissions: each may make exactly the AWS calls its code makes, on exactly the
resources it makes them on.

GRANTS was derived from the code (the handler, what it calls through referral_engine/wiring.py, and the
adapters' boto calls); the comments say where each grant is used. A grant added to the template and
not here fails, and so does one removed from the template but still listed here.

Beyond these statements SAM adds to each function's generated role: the AWS managed policies
AWSLambdaBasicExecutionRole (logs) and AWSXrayWriteOnlyAccess (`Tracing: Active`; X-Ray's actions take
no resource, so `*`), AWSLambdaDynamoDBExecutionRole for a DynamoDB stream trigger (the stream reads,
on `*`), and `sqs:SendMessage` on an OnFailure destination. The last tests pin what makes SAM add them.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from referrals_local.stack.iam_policy import Decision, Policy
from referrals_local.stack.iam_roles import function_roles
from referrals_local.stack.model import ACCOUNT, REGION, Resolver
from referrals_local.stack.model import functions as function_specs
from referrals_local.template import REPO_ROOT, Template, load_template, resources_of_type

pytestmark = pytest.mark.infrastructure

# Every queue of the template (test_template.py pins which): the admin inspects and acts on each.
QUEUES = set(resources_of_type(load_template(), "AWS::SQS::Queue"))

# What each resource a statement may name is called below.
RESOURCES: dict[str, dict[str, Any]] = {
    "table": {"Fn::GetAtt": ["ReferralsTable", "Arn"]},
    "gsi1": {"Fn::Sub": "${ReferralsTable.Arn}/index/gsi1"},
    "gsi2": {"Fn::Sub": "${ReferralsTable.Arn}/index/gsi2"},
    "stream": {"Fn::GetAtt": ["ReferralsTable", "StreamArn"]},
    "bus": {"Fn::GetAtt": ["EventBus", "Arn"]},
    "connection-secrets": {
        "Fn::Sub": "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter"
        "/referral-engine/${AWS::StackName}/connections/*"
    },
    "fingerprint-secret": {"Ref": "FingerprintSecret"},
    **{queue: {"Fn::GetAtt": [queue, "Arn"]} for queue in QUEUES},
}

# function → action → the resources it may act on. A transaction (TransactWriteItems) is authorised
# per item as the PutItem, UpdateItem or DeleteItem it holds; ChangeMessageVisibilityBatch as
# ChangeMessageVisibility. "Idempotency records": the answers to `Idempotency-Key` requests
# (web/idempotency.py, Powertools' DynamoDBPersistenceLayer: get, put, update, delete on failure).
GRANTS: dict[str, dict[str, set[str]]] = {
    "TrackClickFunction": {
        # adapters/dynamodb/clicks.ClickCounter: the participant item or a click shard
        "dynamodb:UpdateItem": {"table"},
        "dynamodb:GetItem": {"table"},  # the landing URL, when the first click's count failed
        "secretsmanager:GetSecretValue": {"fingerprint-secret"},  # the visitor's fingerprints (ADR 0018)
    },
    "ApiFunction": {
        # API keys (web/auth), campaigns, participants, referrals, connections, subscriptions
        "dynamodb:GetItem": {"table"},
        "dynamodb:BatchGetItem": {"table"},  # participants.with_clicks: a code's click shards
        # the stores' puts and transactions, the signal inbox (POST .../qualify)
        "dynamodb:PutItem": {"table"},
        # a sign-up's transaction counts the advocate's referrals; idempotency records
        "dynamodb:UpdateItem": {"table"},
        # DELETE a connection (a transaction), a subscription; idempotency records
        "dynamodb:DeleteItem": {"table"},
        # referrals.history (the item collection); pages.newest_first, connections.of_campaign and
        # referrals.page by joined_at (gsi1), referrals.page by qualified_at (gsi2)
        "dynamodb:Query": {"table", "gsi1", "gsi2"},
        # adapters/ssm: a connection's secret on create and rotate; gone with its connection
        "ssm:PutParameter": {"connection-secrets"},
        "ssm:DeleteParameter": {"connection-secrets"},
        # services/referrals: the fingerprints of a signup's `ip` and `user_agent` (ADR 0018)
        "secretsmanager:GetSecretValue": {"fingerprint-secret"},
    },
    "AdminFunction": {
        # API keys, the redrive's matching and qualification; idempotency records
        "dynamodb:GetItem": {"table"},
        # the admin log, API keys (a transaction), a redriven signal, audit entries
        "dynamodb:PutItem": {"table"},
        # revoking an API key, a redrive's transitions (qualification); idempotency records
        "dynamodb:UpdateItem": {"table"},
        "dynamodb:DeleteItem": {"table"},  # idempotency records; a review's replayed signal
        "dynamodb:ConditionCheckItem": {"table"},  # a review decision: no signal held meanwhile
        "dynamodb:BatchGetItem": {"table"},  # a reviewed referral's advocate: the click shards
        # the admin log, the API keys, the review queue (gsi1); a reviewed referral's history (table)
        "dynamodb:Query": {"table", "gsi1"},
        # adapters/dynamodb_streams.read_batch: a redrive of stream pointers (qualify-failure,
        # announce-referrals-failure)
        "dynamodb:GetShardIterator": {"stream"},
        "dynamodb:GetRecords": {"stream"},
        # adapters/eventbridge: a redriven event, a re-announced referral, a re-qualified signal
        "events:PutEvents": {"bus"},
        # adapters/sqs.SqsQueue: peek, take, release (the batch form), delete, depth
        "sqs:ReceiveMessage": QUEUES,
        "sqs:ChangeMessageVisibility": QUEUES,
        "sqs:DeleteMessage": QUEUES,
        "sqs:GetQueueAttributes": QUEUES,
    },
    "InboundWebhookFunction": {
        "dynamodb:GetItem": {"table"},  # the hook, its campaign or connection, a referral
        "dynamodb:PutItem": {"table"},  # signals.DynamoSignalInbox.accept (conditional)
        "ssm:GetParameter": {"connection-secrets"},  # adapters/ssm: the vendor's signing secret
        "sqs:SendMessage": {"ExceptionsQueue"},  # a signal parked when the inbox is unavailable
    },
    "QualifyFunction": {
        # matching (referral, external id and email claims, participants), campaign, held reversal
        "dynamodb:GetItem": {"table"},
        "dynamodb:PutItem": {"table"},  # audit entries, alone or in a transition's transaction
        "dynamodb:UpdateItem": {"table"},  # a transition's conditional update (a transaction)
        "dynamodb:ConditionCheckItem": {"table"},  # a signal kept for a referral still in review
        "events:PutEvents": {"bus"},  # referral.qualified, referral.reversed
        "sqs:SendMessage": {"ExceptionsQueue"},  # adapters/sqs.SqsExceptionSink
    },
    "IssueRewardFunction": {
        "dynamodb:GetItem": {"table"},  # the referral, its campaign, its rewards (the clawback)
        # referrals.record_rewards: one transaction puts the rewards and the audit entry and
        # updates the referral and the participants' balances
        "dynamodb:PutItem": {"table"},
        "dynamodb:UpdateItem": {"table"},
    },
    "ReleaseRewardsFunction": {
        # adapters/dynamodb/rewards.DynamoRewardLedger: a reward read again after another writer moved it
        "dynamodb:GetItem": {"table"},
        "dynamodb:PutItem": {"table"},  # the audit entry of each move (in its transaction)
        "dynamodb:UpdateItem": {"table"},  # the reward's move, the recipient's credit (a transaction)
        "dynamodb:ConditionCheckItem": {"table"},  # ...unless the referral is reversed
        "dynamodb:Query": {"gsi2"},  # the release index: what is due
    },
    # services/announcements.StreamAnnouncer: referral.created
    "AnnounceReferralsFunction": {"events:PutEvents": {"bus"}},
    "DeliverEventsFunction": {
        "dynamodb:GetItem": {"table"},  # the referral, its advocate, the delivery log
        "dynamodb:PutItem": {"table"},  # the delivery log
        "dynamodb:DeleteItem": {"table"},  # a subscription whose target answered 410
        "dynamodb:Query": {"gsi1"},  # the subscriptions matching an event
    },
    "ReviewQueueAgeFunction": {"dynamodb:Query": {"gsi1"}},  # the oldest open review item
}

# What SAM attaches to each generated role besides the statements (see the module's docstring).
BASIC = "AWSLambdaBasicExecutionRole"
XRAY = "AWSXrayWriteOnlyAccess"
STREAM_READER = "AWSLambdaDynamoDBExecutionRole"
MANAGED_POLICIES = {
    "TrackClickFunction": {BASIC, XRAY},
    "ApiFunction": {BASIC, XRAY},
    "AdminFunction": {BASIC, XRAY},
    "InboundWebhookFunction": {BASIC, XRAY},
    "QualifyFunction": {BASIC, XRAY, STREAM_READER},
    "IssueRewardFunction": {BASIC, XRAY},
    "ReleaseRewardsFunction": {BASIC, XRAY},
    "AnnounceReferralsFunction": {BASIC, XRAY, STREAM_READER},
    "DeliverEventsFunction": {BASIC, XRAY},
    "ReviewQueueAgeFunction": {BASIC, XRAY},
}
# Where SAM grants sqs:SendMessage: each function's OnFailure destination, and nothing else.
ON_FAILURE = {
    "QualifyFunction": "QualifyFailureQueue",
    "IssueRewardFunction": "IssueRewardFailureQueue",
    "AnnounceReferralsFunction": "AnnounceReferralsFailureQueue",
    "DeliverEventsFunction": "DeliverEventsFailureQueue",
}


@pytest.fixture(scope="module")
def template() -> Template:
    return load_template()


@pytest.fixture(scope="module")
def functions(template: Template) -> dict[str, dict[str, Any]]:
    return resources_of_type(template, "AWS::Serverless::Function")


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _statements(function: dict[str, Any]) -> list[dict[str, Any]]:
    return [statement for policy in function["Properties"]["Policies"] for statement in policy["Statement"]]


def _resource_name(resource: Any) -> str:
    return next((name for name, known in RESOURCES.items() if known == resource), repr(resource))


def granted(function: dict[str, Any]) -> dict[str, set[str]]:
    grants: dict[str, set[str]] = {}
    for statement in _statements(function):
        for action in _as_list(statement["Action"]):
            grants.setdefault(action, set()).update(map(_resource_name, _as_list(statement["Resource"])))
    return grants


def test_every_function_has_its_own_inline_policy_and_nothing_else(
    functions: dict[str, dict[str, Any]],
) -> None:
    assert set(functions) == set(GRANTS)
    for logical_id, function in functions.items():
        properties = function["Properties"]
        assert "Role" not in properties, logical_id  # SAM generates one role per function
        policies = properties["Policies"]
        # One policy document: no SAM policy template (DynamoDBCrudPolicy...), no managed policy.
        assert len(policies) == 1, logical_id
        assert isinstance(policies[0], dict), logical_id
        assert set(policies[0]) == {"Version", "Statement"}, logical_id


def test_statements_allow_named_actions_on_named_resources(functions: dict[str, dict[str, Any]]) -> None:
    for logical_id, function in functions.items():
        for statement in _statements(function):
            assert set(statement) == {"Effect", "Action", "Resource"}, logical_id  # no Not*, no Principal
            assert statement["Effect"] == "Allow", logical_id
            for action in _as_list(statement["Action"]):
                assert re.fullmatch(r"[a-z0-9-]+:[A-Za-z]+", action), f"{logical_id}: {action}"
            for resource in _as_list(statement["Resource"]):
                assert resource in RESOURCES.values(), f"{logical_id}: {resource!r}"


@pytest.mark.parametrize("logical_id", GRANTS)
def test_each_function_is_granted_exactly_what_its_code_calls(
    functions: dict[str, dict[str, Any]], logical_id: str
) -> None:
    assert granted(functions[logical_id]) == GRANTS[logical_id]


def test_the_secrets_path_is_the_one_the_functions_read_and_write(template: Template) -> None:
    prefix = template["Globals"]["Function"]["Environment"]["Variables"]["SECRETS_PREFIX"]["Fn::Sub"]
    arn = RESOURCES["connection-secrets"]["Fn::Sub"]
    # A parameter's ARN names its path without the leading slash; adapters/ssm adds `/{connection id}`.
    assert arn.endswith(f":parameter{prefix}/*")


def test_no_policy_template_or_managed_policy_is_named_anywhere() -> None:
    text = (REPO_ROOT / "template.yaml").read_text(encoding="utf-8")
    assert not re.search(r"\b\w+(Crud|Read|Write|Poller|SendMessage|PutEvents)Policy\b", text)
    assert "FullAccess" not in text
    assert "ManagedPolicyArns" not in text
    assert "arn:aws:iam::aws:policy" not in text


# ----------------------------------------------------------- what SAM adds to the generated roles


def _managed_policies_sam_attaches(template: Template, function: dict[str, Any]) -> set[str]:
    """samtranslator: every generated role gets BASIC; active tracing adds XRAY; a DynamoDB (or Kinesis,
    SQS, MQ, MSK) event source adds its poller's execution policy."""
    properties = function["Properties"]
    tracing = properties.get("Tracing", template["Globals"]["Function"].get("Tracing"))
    event_types = {event["Type"] for event in properties.get("Events", {}).values()}
    return (
        {BASIC}
        | ({XRAY} if tracing == "Active" else set())
        | ({STREAM_READER} if "DynamoDB" in event_types else set())
    )


def test_sam_attaches_only_the_expected_managed_policies(
    template: Template, functions: dict[str, dict[str, Any]]
) -> None:
    pollers = {"Kinesis", "SQS", "MQ", "MSK", "SelfManagedKafka", "DocumentDB"}
    for logical_id, function in functions.items():
        event_types = {event["Type"] for event in function["Properties"].get("Events", {}).values()}
        assert not event_types & pollers, logical_id
        assert _managed_policies_sam_attaches(template, function) == MANAGED_POLICIES[logical_id], logical_id


def _destinations(function: dict[str, Any]) -> list[dict[str, Any]]:
    properties = function["Properties"]
    configs = [properties.get("EventInvokeConfig", {}).get("DestinationConfig", {})]
    configs += [
        event["Properties"].get("DestinationConfig", {}) for event in properties.get("Events", {}).values()
    ]
    return [{"On": on, **target} for config in configs for on, target in config.items()]


def test_sam_grants_send_message_only_to_each_functions_on_failure_queue(
    functions: dict[str, dict[str, Any]],
) -> None:
    for logical_id, function in functions.items():
        # A function-level DeadLetterQueue would be another grant SAM adds.
        assert "DeadLetterQueue" not in function["Properties"], logical_id
        queue = ON_FAILURE.get(logical_id)
        target = {"Type": "SQS", "Destination": {"Fn::GetAtt": [queue, "Arn"]}}
        expected = [{"On": "OnFailure", **target}] if queue else []
        assert _destinations(function) == expected, logical_id


# ------------------------------------------- the roles the local stack enforces (ADR 0017)

# A resource of each name above, as the local stack's ARNs spell it (a parameter under the path).
LOCAL_ARNS = {
    "table": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/s-ReferralsTable",
    "gsi1": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/s-ReferralsTable/index/gsi1",
    "gsi2": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/s-ReferralsTable/index/gsi2",
    "stream": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/s-ReferralsTable/stream/2026-01-01T00:00:00.000",
    "bus": f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/s-referrals",
    "connection-secrets": f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/referral-engine/s/connections/c1",
    "fingerprint-secret": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:s-FingerprintSecret-AbCdEf",
    **{queue: f"arn:aws:sqs:{REGION}:{ACCOUNT}:s-{queue}" for queue in QUEUES},
}
# What AWSLambdaDynamoDBExecutionRole allows (on `*`) besides logs.
STREAM_READS = {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"}


def _local_resolver() -> Resolver:
    resolver = Resolver("s", {})
    resolver.attributes[("ReferralsTable", "Arn")] = LOCAL_ARNS["table"]
    resolver.attributes[("ReferralsTable", "StreamArn")] = LOCAL_ARNS["stream"]
    resolver.attributes[("EventBus", "Arn")] = LOCAL_ARNS["bus"]
    resolver.refs["FingerprintSecret"] = LOCAL_ARNS["fingerprint-secret"]
    for queue in QUEUES:
        resolver.attributes[(queue, "Arn")] = LOCAL_ARNS[queue]
    return resolver


def test_the_roles_sam_generates_allow_each_function_exactly_its_grants_and_what_sam_adds(
    template: Template,
) -> None:
    """The roles the local endpoint enforces, from SAM's own translation of the template: GRANTS, the
    stream reads of a stream trigger, SendMessage to the OnFailure queue, and nothing else of the
    actions any function is granted, on any resource any function is granted."""
    roles = function_roles(template, _local_resolver(), function_specs(template, "s"))
    actions = {action for grants in GRANTS.values() for action in grants} | STREAM_READS
    for role in roles:
        policy = Policy.compile(role.policies.values())
        expected = {(action, name) for action, names in GRANTS[role.function].items() for name in names}
        if STREAM_READER in MANAGED_POLICIES[role.function]:
            expected |= {(action, name) for action in STREAM_READS for name in LOCAL_ARNS}
        if role.function in ON_FAILURE:
            expected.add(("sqs:SendMessage", ON_FAILURE[role.function]))
        allowed = {
            (action, name)
            for action in actions
            for name, arn in LOCAL_ARNS.items()
            if policy.decide(action, arn) is Decision.ALLOWED
        }
        assert allowed == expected, role.function
        assert policy.decide("logs:PutLogEvents", "*") is Decision.ALLOWED  # AWSLambdaBasicExecutionRole
