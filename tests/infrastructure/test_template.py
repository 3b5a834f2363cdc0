"""Assertions on template.yaml: the contract the functions' code and the operators rely on.

cfn-lint and `sam validate` check that the template is valid; these tests check that it says what we
mean: the triggers' failure handling, alarms, log retention, runtime and routes (the functions'
permissions: test_iam.py).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from referrals_local.template import REPO_ROOT, Template, load_template, resources_of_type

pytestmark = pytest.mark.infrastructure

FUNCTIONS = {
    # logical id: (CodeUri, Handler)
    "TrackClickFunction": ("functions/track_click/", "track_click.handler"),
    "ApiFunction": ("functions/api/", "api.handler"),
    "AdminFunction": ("functions/admin/", "admin.handler"),
    "InboundWebhookFunction": ("functions/inbound_webhook/", "inbound_webhook.handler"),
    "QualifyFunction": ("functions/qualify/", "qualify.handler"),
    "IssueRewardFunction": ("functions/issue_reward/", "issue_reward.handler"),
    "AnnounceReferralsFunction": ("functions/announce_referrals/", "announce_referrals.handler"),
    "DeliverEventsFunction": ("functions/deliver_events/", "deliver_events.handler"),
    "ReleaseRewardsFunction": ("functions/release_rewards/", "release_rewards.handler"),
    "ReviewQueueAgeFunction": ("functions/review_queue_age/", "review_queue_age.handler"),
}

QUEUES = {
    "QualifyFailureQueue",
    "ExceptionsQueue",
    "RewardEventsDLQ",
    "IssueRewardFailureQueue",
    "HookEventsDLQ",
    "AnnounceReferralsFailureQueue",
    "DeliverEventsFailureQueue",
}

# Reserved concurrency per function (ADR 0012): a guarantee and a cap on the account's pool.
RESERVED_CONCURRENCY = {
    "TrackClickFunction": 200,
    "ApiFunction": 100,
    "AdminFunction": 10,
    "InboundWebhookFunction": 100,
    "QualifyFunction": 20,
    "IssueRewardFunction": 50,
    "AnnounceReferralsFunction": 20,
    "DeliverEventsFunction": 50,
    "ReleaseRewardsFunction": 1,  # one run at a time: runs never race each other for the same rewards
    "ReviewQueueAgeFunction": 1,
}
LAMBDA_UNRESERVED_MINIMUM = 100  # Lambda refuses a reservation that leaves fewer unreserved
DEFAULT_ACCOUNT_CONCURRENCY = 1000

ROUTES = {
    ("GET", "/r/{code}", "TrackClickFunction"),
    ("HEAD", "/r/{code}", "TrackClickFunction"),
    ("GET", "/r", "TrackClickFunction"),
    ("POST", "/v1/campaigns", "ApiFunction"),
    ("GET", "/v1/campaigns/{campaign_id}", "ApiFunction"),
    ("POST", "/v1/campaigns/{campaign_id}/advocates", "ApiFunction"),
    ("POST", "/v1/campaigns/{campaign_id}/hook-secret", "ApiFunction"),
    ("POST", "/v1/campaigns/{campaign_id}/rotate-hook-url", "ApiFunction"),
    ("GET", "/v1/campaigns/{campaign_id}/referrals", "ApiFunction"),
    ("POST", "/v1/referrals", "ApiFunction"),
    ("GET", "/v1/referrals/{referral_id}", "ApiFunction"),
    ("POST", "/v1/referrals/{referral_id}/qualify", "ApiFunction"),
    ("POST", "/v1/referrals/{referral_id}/reverse", "ApiFunction"),
    ("GET", "/hooks/generic/{hook_id}", "InboundWebhookFunction"),
    ("POST", "/hooks/generic/{hook_id}", "InboundWebhookFunction"),
    ("POST", "/hooks/{source}/{hook_id}", "InboundWebhookFunction"),
    ("HEAD", "/hooks/{source}/{hook_id}", "InboundWebhookFunction"),
    ("POST", "/v1/campaigns/{campaign_id}/connections", "ApiFunction"),
    ("GET", "/v1/campaigns/{campaign_id}/connections", "ApiFunction"),
    ("GET", "/v1/connections/{connection_id}", "ApiFunction"),
    ("POST", "/v1/connections/{connection_id}/rotate-secret", "ApiFunction"),
    ("DELETE", "/v1/connections/{connection_id}", "ApiFunction"),
    ("POST", "/v1/hooks/subscriptions", "ApiFunction"),
    ("DELETE", "/v1/hooks/subscriptions/{subscription_id}", "ApiFunction"),
    ("GET", "/v1/hooks/samples/{event}", "ApiFunction"),
    ("GET", "/v1/openapi.json", "ApiFunction"),
    ("GET", "/v1/admin/queues", "AdminFunction"),
    ("GET", "/v1/admin/queues/{queue}/messages", "AdminFunction"),
    ("GET", "/v1/admin/queues/{queue}/messages/{message_id}", "AdminFunction"),
    ("POST", "/v1/admin/queues/{queue}/messages/{message_id}/redrive", "AdminFunction"),
    ("POST", "/v1/admin/queues/{queue}/redrive", "AdminFunction"),
    ("POST", "/v1/admin/queues/{queue}/messages/{message_id}/discard", "AdminFunction"),
    ("GET", "/v1/admin/log", "AdminFunction"),
    ("POST", "/v1/admin/api-keys", "AdminFunction"),
    ("GET", "/v1/admin/api-keys", "AdminFunction"),
    ("DELETE", "/v1/admin/api-keys/{key_id}", "AdminFunction"),
    ("GET", "/v1/admin/reviews", "AdminFunction"),
    ("GET", "/v1/admin/reviews/{review_id}", "AdminFunction"),
    ("POST", "/v1/admin/reviews/{review_id}/approve", "AdminFunction"),
    ("POST", "/v1/admin/reviews/{review_id}/reject", "AdminFunction"),
    ("POST", "/v1/admin/reviews/decisions", "AdminFunction"),
}


@pytest.fixture(scope="module")
def template() -> Template:
    return load_template()


@pytest.fixture(scope="module")
def resources(template: Template) -> dict[str, dict[str, Any]]:
    resources: dict[str, dict[str, Any]] = template["Resources"]
    return resources


@pytest.fixture(scope="module")
def functions(template: Template) -> dict[str, dict[str, Any]]:
    return resources_of_type(template, "AWS::Serverless::Function")


def props(resources: dict[str, dict[str, Any]], logical_id: str) -> dict[str, Any]:
    properties: dict[str, Any] = resources[logical_id]["Properties"]
    return properties


def only_event(function: dict[str, Any], event_type: str) -> dict[str, Any]:
    events = [e for e in function["Properties"].get("Events", {}).values() if e["Type"] == event_type]
    assert len(events) == 1, f"expected one {event_type} event, found {len(events)}"
    properties: dict[str, Any] = events[0]["Properties"]
    return properties


# ------------------------------------------------------------------------------ runtime and code


def test_every_function_runs_python313_on_arm64_with_the_layer(
    template: Template, functions: dict[str, dict[str, Any]]
) -> None:
    globals_ = template["Globals"]["Function"]
    assert globals_["Runtime"] == "python3.13"
    assert globals_["Architectures"] == ["arm64"]
    assert globals_["Tracing"] == "Active"
    assert globals_["Layers"] == [{"Ref": "CommonLayer"}]
    for logical_id, function in functions.items():
        overridden = {"Runtime", "Architectures", "Layers"} & function["Properties"].keys()
        assert not overridden, f"{logical_id} overrides {overridden}"


def test_functions_have_the_agreed_code_locations_and_handlers(
    functions: dict[str, dict[str, Any]],
) -> None:
    assert set(functions) == set(FUNCTIONS)
    for logical_id, (code_uri, handler) in FUNCTIONS.items():
        properties = functions[logical_id]["Properties"]
        assert (properties["CodeUri"], properties["Handler"]) == (code_uri, handler)
        # The handler module is named after its directory, so all can share one import path.
        assert handler.split(".")[0] == Path(code_uri).name


def test_timeouts(template: Template, functions: dict[str, dict[str, Any]]) -> None:
    assert template["Globals"]["Function"]["Timeout"] == 10
    assert functions["QualifyFunction"]["Properties"]["Timeout"] == 60
    assert functions["IssueRewardFunction"]["Properties"]["Timeout"] == 30
    assert functions["AnnounceReferralsFunction"]["Properties"]["Timeout"] == 30
    assert functions["DeliverEventsFunction"]["Properties"]["Timeout"] == 60
    assert functions["AdminFunction"]["Properties"]["Timeout"] == 30  # a redrive of a whole queue


def test_every_function_reserves_its_concurrency_unless_the_parameter_says_not(
    template: Template, functions: dict[str, dict[str, Any]]
) -> None:
    parameter = template["Parameters"]["ReserveConcurrency"]
    assert (parameter["Default"], parameter["AllowedValues"]) == ("true", ["true", "false"])
    assert template["Conditions"]["ReservesConcurrency"] == {
        "Fn::Equals": [{"Ref": "ReserveConcurrency"}, "true"]
    }
    reserved = {}
    for logical_id, function in functions.items():
        condition, value, otherwise = function["Properties"]["ReservedConcurrentExecutions"]["Fn::If"]
        assert (condition, otherwise) == ("ReservesConcurrency", {"Ref": "AWS::NoValue"}), logical_id
        reserved[logical_id] = value
    assert reserved == RESERVED_CONCURRENCY


def test_reservations_fit_an_account_at_the_default_quota_as_the_parameter_says(template: Template) -> None:
    total = sum(RESERVED_CONCURRENCY.values())
    needed = total + LAMBDA_UNRESERVED_MINIMUM
    assert needed <= DEFAULT_ACCOUNT_CONCURRENCY
    description = " ".join(template["Parameters"]["ReserveConcurrency"]["Description"].split())
    assert f"({total} in all)" in description
    assert f"at least {needed}" in description


def test_redirects_reserve_at_least_the_api_burst(resources: dict[str, dict[str, Any]]) -> None:
    # A burst the API admits finds a Lambda slot for every redirect: throttling, if any, is the
    # API's own 429, not a failed invocation.
    api = props(resources, "HttpApi")
    for settings in (api["DefaultRouteSettings"], api["RouteSettings"]["GET /r/{code}"]):
        assert RESERVED_CONCURRENCY["TrackClickFunction"] >= settings["ThrottlingBurstLimit"]


def test_a_viral_link_is_not_held_to_the_other_routes_rate(resources: dict[str, dict[str, Any]]) -> None:
    # 10x one DynamoDB partition's 1,000 writes/s: what the hot-link figure (bench, figure 6) clicks at.
    redirect = props(resources, "HttpApi")["RouteSettings"]["GET /r/{code}"]
    assert redirect["ThrottlingRateLimit"] >= 10 * 1000


def test_common_layer_is_built_for_python313_arm64(resources: dict[str, dict[str, Any]]) -> None:
    layer = resources["CommonLayer"]
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    assert layer["Properties"]["ContentUri"] == "layers/common/"
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]
    assert layer["Metadata"] == {"BuildMethod": "python3.13", "BuildArchitecture": "arm64"}


OWN_ENVIRONMENT = {
    # the only functions that fingerprint visitors (docs/adr/0018)
    "TrackClickFunction": {
        "FINGERPRINT_SECRET_ID": {"Ref": "FingerprintSecret"},
        "CLICK_FALLBACK_URL": {"Ref": "FallbackUrl"},  # docs/adr/0023
    },
    "ApiFunction": {"FINGERPRINT_SECRET_ID": {"Ref": "FingerprintSecret"}},
    "QualifyFunction": {"EXCEPTIONS_QUEUE_URL": {"Ref": "ExceptionsQueue"}},
    "InboundWebhookFunction": {"EXCEPTIONS_QUEUE_URL": {"Ref": "ExceptionsQueue"}},
    "AdminFunction": {
        "EXCEPTIONS_QUEUE_URL": {"Ref": "ExceptionsQueue"},
        "QUALIFY_FAILURE_QUEUE_URL": {"Ref": "QualifyFailureQueue"},
        "REWARD_EVENTS_DLQ_URL": {"Ref": "RewardEventsDLQ"},
        "ISSUE_REWARD_FAILURE_QUEUE_URL": {"Ref": "IssueRewardFailureQueue"},
        "HOOK_EVENTS_DLQ_URL": {"Ref": "HookEventsDLQ"},
        "ANNOUNCE_REFERRALS_FAILURE_QUEUE_URL": {"Ref": "AnnounceReferralsFailureQueue"},
        "DELIVER_EVENTS_FAILURE_QUEUE_URL": {"Ref": "DeliverEventsFailureQueue"},
    },
}


def test_environment_is_shared_through_globals(
    template: Template, functions: dict[str, dict[str, Any]]
) -> None:
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables == {
        "TABLE_NAME": {"Ref": "ReferralsTable"},
        "EVENT_BUS_NAME": {"Ref": "EventBus"},
        "POWERTOOLS_SERVICE_NAME": "referral-engine",
        "POWERTOOLS_METRICS_NAMESPACE": "ReferralEngine",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "PYDANTIC_DISABLE_PLUGINS": "__all__",
        "PUBLIC_BASE_URL": {"Ref": "PublicBaseUrl"},
        "SECRETS_PREFIX": {"Fn::Sub": "/referral-engine/${AWS::StackName}/connections"},
    }
    for logical_id, function in functions.items():
        own = function["Properties"].get("Environment", {}).get("Variables", {})
        expected = OWN_ENVIRONMENT.get(logical_id, {})
        assert own == expected, logical_id


# ---------------------------------------------------------------------------------- logging


def test_every_function_logs_json_to_its_own_log_group_with_retention(
    template: Template, resources: dict[str, dict[str, Any]], functions: dict[str, dict[str, Any]]
) -> None:
    assert template["Globals"]["Function"]["LoggingConfig"] == {"LogFormat": "JSON"}
    log_groups = set()
    for logical_id, function in functions.items():
        reference = function["Properties"]["LoggingConfig"]["LogGroup"]
        assert set(reference) == {"Ref"}, logical_id
        log_group = resources[reference["Ref"]]
        assert log_group["Type"] == "AWS::Logs::LogGroup"
        assert log_group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
        log_groups.add(reference["Ref"])
    assert len(log_groups) == len(functions), "functions must not share a log group"


def test_log_retention_parameter(template: Template) -> None:
    parameter = template["Parameters"]["LogRetentionDays"]
    assert parameter["Type"] == "Number"
    assert parameter["Default"] == 30
    assert parameter["Default"] in parameter["AllowedValues"]


def test_http_api_access_logs_and_throttling(resources: dict[str, dict[str, Any]]) -> None:
    api = props(resources, "HttpApi")
    destination = api["AccessLogSettings"]["DestinationArn"]
    log_group = resources[destination["Fn::GetAtt"][0]]
    assert log_group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    logged = json.loads(api["AccessLogSettings"]["Format"])
    assert logged["requestId"] == "$context.requestId"
    assert not [field for field, value in logged.items() if "identity" in value]  # no client IP
    assert api["DefaultRouteSettings"]["ThrottlingBurstLimit"] > 0
    assert api["DefaultRouteSettings"]["ThrottlingRateLimit"] > 0


# ----------------------------------------------------------------------------------- data


def test_table_keys_indexes_stream_and_ttl(resources: dict[str, dict[str, Any]]) -> None:
    table = resources["ReferralsTable"]
    assert table["Type"] == "AWS::DynamoDB::Table"
    assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"
    properties = table["Properties"]
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    attribute_types = {a["AttributeName"]: a["AttributeType"] for a in properties["AttributeDefinitions"]}
    assert attribute_types == dict.fromkeys(("pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk"), "S")
    assert properties["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    indexes = {index["IndexName"]: index for index in properties["GlobalSecondaryIndexes"]}
    assert set(indexes) == {"gsi1", "gsi2"}
    for name, index in indexes.items():
        assert index["KeySchema"] == [
            {"AttributeName": f"{name}pk", "KeyType": "HASH"},
            {"AttributeName": f"{name}sk", "KeyType": "RANGE"},
        ]
        assert index["Projection"] == {"ProjectionType": "ALL"}
    assert properties["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert properties["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert properties["SSESpecification"] == {"SSEEnabled": True}


def test_event_bus_is_named_after_the_stack(resources: dict[str, dict[str, Any]]) -> None:
    assert resources["EventBus"]["Type"] == "AWS::Events::EventBus"
    assert props(resources, "EventBus")["Name"] == {"Fn::Sub": "${AWS::StackName}-referrals"}


# ------------------------------------------------------------------------------ triggers


def test_qualify_stream_trigger_is_filtered_and_fails_per_record(
    functions: dict[str, dict[str, Any]],
) -> None:
    event = only_event(functions["QualifyFunction"], "DynamoDB")
    assert event["Stream"] == {"Fn::GetAtt": ["ReferralsTable", "StreamArn"]}
    assert event["StartingPosition"] == "TRIM_HORIZON"
    assert event["BatchSize"] == 25
    assert event["MaximumBatchingWindowInSeconds"] == 0
    assert event["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert event["BisectBatchOnFunctionError"] is True
    assert 0 <= event["MaximumRetryAttempts"] <= 10
    assert 0 < event["MaximumRecordAgeInSeconds"] <= 86400
    assert event["DestinationConfig"] == {
        "OnFailure": {"Type": "SQS", "Destination": {"Fn::GetAtt": ["QualifyFailureQueue", "Arn"]}}
    }
    [stream_filter] = event["FilterCriteria"]["Filters"]
    assert json.loads(stream_filter["Pattern"]) == {
        "eventName": ["INSERT"],
        "dynamodb": {"NewImage": {"entity": {"S": ["signal"]}}},
    }


def test_qualify_has_no_async_dead_letter_queue(functions: dict[str, dict[str, Any]]) -> None:
    # A function-level DeadLetterQueue only applies to asynchronous invokes, never to a stream.
    assert "DeadLetterQueue" not in functions["QualifyFunction"]["Properties"]


def test_reward_rules_retry_boundedly_then_dead_letter(
    resources: dict[str, dict[str, Any]], functions: dict[str, dict[str, Any]]
) -> None:
    """issue_reward takes `referral.qualified` (the rewards) and `referral.reversed` (the clawback)."""
    events = functions["IssueRewardFunction"]["Properties"]["Events"]
    rules = {"ReferralQualified": "referral.qualified", "ReferralReversed": "referral.reversed"}
    assert set(events) == set(rules)
    for name, detail_type in rules.items():
        assert events[name]["Type"] == "EventBridgeRule"
        properties = events[name]["Properties"]
        assert properties["EventBusName"] == {"Ref": "EventBus"}
        assert properties["Pattern"] == {"source": ["referral-engine"], "detail-type": [detail_type]}
        assert properties["RetryPolicy"] == {"MaximumRetryAttempts": 8, "MaximumEventAgeInSeconds": 3600}
        assert properties["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["RewardEventsDLQ", "Arn"]}}

    # EventBridge may only write to the DLQ because a queue policy lets these rules do so. SAM names
    # the generated AWS::Events::Rule after the function and the event.
    policy = resources["RewardEventsDLQPolicy"]
    assert policy["Type"] == "AWS::SQS::QueuePolicy"
    assert policy["Properties"]["Queues"] == [{"Ref": "RewardEventsDLQ"}]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert len(statements) == len(rules)
    for statement, name in zip(statements, rules, strict=True):
        assert statement["Effect"] == "Allow"
        assert statement["Principal"] == {"Service": "events.amazonaws.com"}
        assert statement["Action"] == "sqs:SendMessage"
        assert statement["Resource"] == {"Fn::GetAtt": ["RewardEventsDLQ", "Arn"]}
        assert statement["Condition"] == {
            "ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [f"IssueRewardFunction{name}", "Arn"]}}
        }


def test_the_release_schedule_runs_every_minute_one_run_at_a_time_without_retries(
    functions: dict[str, dict[str, Any]],
) -> None:
    properties = functions["ReleaseRewardsFunction"]["Properties"]
    assert properties["Events"] == {
        "EveryMinute": {"Type": "Schedule", "Properties": {"Schedule": "rate(1 minute)"}}
    }
    # The release index is its work list: what a run fails on is due again at the next run.
    assert properties["EventInvokeConfig"]["MaximumRetryAttempts"] == 0


def test_issue_reward_async_retries_then_goes_to_its_failure_queue(
    functions: dict[str, dict[str, Any]],
) -> None:
    config = functions["IssueRewardFunction"]["Properties"]["EventInvokeConfig"]
    assert config["MaximumRetryAttempts"] == 2
    assert config["MaximumEventAgeInSeconds"] == 3600
    assert config["DestinationConfig"] == {
        "OnFailure": {"Type": "SQS", "Destination": {"Fn::GetAtt": ["IssueRewardFailureQueue", "Arn"]}}
    }


def test_announce_referrals_reads_new_referrals_from_the_stream(functions: dict[str, dict[str, Any]]) -> None:
    event = only_event(functions["AnnounceReferralsFunction"], "DynamoDB")
    assert event["Stream"] == {"Fn::GetAtt": ["ReferralsTable", "StreamArn"]}
    assert event["StartingPosition"] == "TRIM_HORIZON"
    assert event["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert event["BisectBatchOnFunctionError"] is True
    assert 0 <= event["MaximumRetryAttempts"] <= 10
    assert 0 < event["MaximumRecordAgeInSeconds"] <= 86400
    assert event["DestinationConfig"] == {
        "OnFailure": {"Type": "SQS", "Destination": {"Fn::GetAtt": ["AnnounceReferralsFailureQueue", "Arn"]}}
    }
    patterns = [json.loads(stream_filter["Pattern"]) for stream_filter in event["FilterCriteria"]["Filters"]]
    referral = {"entity": {"S": ["referral"]}}
    assert patterns == [  # new referrals; moves into and out of review (docs/adr/0019)
        {"eventName": ["INSERT"], "dynamodb": {"NewImage": referral}},
        {"eventName": ["MODIFY"], "dynamodb": {"OldImage": {**referral, "status": {"S": ["in_review"]}}}},
        {
            "eventName": ["MODIFY"],
            "dynamodb": {"NewImage": {**referral, "status": {"S": ["in_review", "rejected"]}}},
        },
    ]


def test_hook_events_rule_retries_boundedly_then_dead_letters(
    resources: dict[str, dict[str, Any]], functions: dict[str, dict[str, Any]]
) -> None:
    properties = only_event(functions["DeliverEventsFunction"], "EventBridgeRule")
    assert properties["EventBusName"] == {"Ref": "EventBus"}
    assert properties["Pattern"] == {
        "source": ["referral-engine"],
        "detail-type": ["referral.created", "referral.qualified", "referral.reversed"],
    }
    assert properties["RetryPolicy"] == {"MaximumRetryAttempts": 8, "MaximumEventAgeInSeconds": 3600}
    assert properties["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["HookEventsDLQ", "Arn"]}}
    [statement] = props(resources, "HookEventsDLQPolicy")["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    assert statement["Resource"] == {"Fn::GetAtt": ["HookEventsDLQ", "Arn"]}
    assert statement["Condition"] == {
        "ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["DeliverEventsFunctionReferralEvents", "Arn"]}}
    }


def test_deliver_events_async_retries_then_goes_to_its_failure_queue(
    functions: dict[str, dict[str, Any]],
) -> None:
    properties = functions["DeliverEventsFunction"]["Properties"]
    assert "DeadLetterQueue" not in properties  # the OnFailure destination carries the whole event
    config = properties["EventInvokeConfig"]
    assert config["MaximumRetryAttempts"] == 2
    assert config["MaximumEventAgeInSeconds"] == 3600
    assert config["DestinationConfig"] == {
        "OnFailure": {"Type": "SQS", "Destination": {"Fn::GetAtt": ["DeliverEventsFailureQueue", "Arn"]}}
    }


def test_http_routes(functions: dict[str, dict[str, Any]]) -> None:
    routes = set()
    for logical_id, function in functions.items():
        for event in function["Properties"].get("Events", {}).values():
            if event["Type"] != "HttpApi":
                continue
            properties = event["Properties"]
            assert properties["ApiId"] == {"Ref": "HttpApi"}, logical_id
            routes.add((properties["Method"], properties["Path"], logical_id))
    assert routes == ROUTES


def test_every_admin_route_and_only_they_need_iam(functions: dict[str, dict[str, Any]]) -> None:
    for logical_id, function in functions.items():
        for event in function["Properties"].get("Events", {}).values():
            if event["Type"] != "HttpApi":
                continue
            properties = event["Properties"]
            admin = properties["Path"].startswith("/v1/admin/")
            assert admin == (logical_id == "AdminFunction"), properties["Path"]
            expected = {"Authorizer": "AWS_IAM"} if admin else None
            assert properties.get("Auth") == expected, properties["Path"]


# -------------------------------------------------------------------------- queues, alarms


def test_queues_are_encrypted_and_keep_messages_for_14_days(
    template: Template,
) -> None:
    queues = resources_of_type(template, "AWS::SQS::Queue")
    assert set(queues) == QUEUES
    for logical_id, queue in queues.items():
        assert queue["Properties"]["SqsManagedSseEnabled"] is True, logical_id
        # SQS-managed keys: EventBridge cannot send to a queue under alias/aws/sqs (ADR 0012).
        assert "KmsMasterKeyId" not in queue["Properties"], logical_id
        assert queue["Properties"]["MessageRetentionPeriod"] == 1209600, logical_id


def _alarms(template: Template) -> list[dict[str, Any]]:
    return [alarm["Properties"] for alarm in resources_of_type(template, "AWS::CloudWatch::Alarm").values()]


def _dimension(alarm: dict[str, Any], name: str) -> Any:
    return next((d["Value"] for d in alarm.get("Dimensions", []) if d["Name"] == name), None)


def test_every_queue_has_a_depth_alarm(template: Template) -> None:
    watched = set()
    for alarm in _alarms(template):
        if alarm["Namespace"] == "AWS/SQS" and alarm["MetricName"] == "ApproximateNumberOfMessagesVisible":
            queue = _dimension(alarm, "QueueName")
            assert queue == {"Fn::GetAtt": [queue["Fn::GetAtt"][0], "QueueName"]}
            assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
            assert alarm["Threshold"] == 1
            assert {"Ref": "AlarmTopic"} in alarm["AlarmActions"]
            watched.add(queue["Fn::GetAtt"][0])
    assert watched == QUEUES


def test_every_function_has_an_errors_alarm(template: Template, functions: dict[str, dict[str, Any]]) -> None:
    watched = set()
    for alarm in _alarms(template):
        if alarm["Namespace"] == "AWS/Lambda" and alarm["MetricName"] == "Errors":
            assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
            assert {"Ref": "AlarmTopic"} in alarm["AlarmActions"]
            watched.add(_dimension(alarm, "FunctionName")["Ref"])
    assert watched == set(functions)


def test_alarm_topic_is_encrypted_with_a_key_cloudwatch_can_use(
    template: Template, resources: dict[str, dict[str, Any]]
) -> None:
    topic = props(resources, "AlarmTopic")
    # Not alias/aws/sns: CloudWatch alarms cannot publish to topics encrypted with that key.
    assert topic["KmsMasterKeyId"] == {"Ref": "AlarmTopicKey"}
    statements = props(resources, "AlarmTopicKey")["KeyPolicy"]["Statement"]
    assert any(s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"} for s in statements)
    subscription = resources["AlarmEmailSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail"
    assert template["Conditions"]["HasAlarmEmail"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]
    }


# --------------------------------------------------------------------------------- outputs


def test_outputs(template: Template) -> None:
    outputs = template["Outputs"]
    assert outputs["ApiUrl"]["Value"] == {
        "Fn::Sub": "https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"
    }
    assert outputs["TableName"]["Value"] == {"Ref": "ReferralsTable"}
    assert outputs["EventBusName"]["Value"] == {"Ref": "EventBus"}
    for queue in QUEUES:
        assert outputs[f"{queue}Url"]["Value"] == {"Ref": queue}


# ------------------------------------------------------------------------- layer packaging


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)", line)
        if match:
            pins[match[1].lower().replace("_", "-")] = match[2]
    return pins


def test_layer_requirements_match_the_dev_lock() -> None:
    layer = _pins(REPO_ROOT / "layers/common/requirements.txt")
    dev = _pins(REPO_ROOT / "requirements/dev.txt")
    assert {"aws-lambda-powertools", "pydantic", "pydantic-core"} <= set(layer)
    # boto3 comes with the Lambda runtime; shipping it would only make the layer bigger.
    assert not {"boto3", "botocore"} & set(layer)
    mismatched = {
        name: (version, dev.get(name)) for name, version in layer.items() if dev.get(name) != version
    }
    assert not mismatched, f"layer pins differ from requirements/dev.txt (run `make lock`): {mismatched}"


def test_the_review_queue_alarm_watches_the_age_its_scheduled_function_emits(
    template: Template, resources: dict[str, dict[str, Any]], functions: dict[str, dict[str, Any]]
) -> None:
    """docs/adr/0019: the metric in EMF from a 5-minute schedule; no data (no run) is not an old queue."""
    from review_queue_age import METRIC

    alarm = props(resources, "ReviewQueueAgeAlarm")
    assert (alarm["Namespace"], alarm["MetricName"]) == ("ReferralEngine", METRIC)
    assert template["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"] == (
        "ReferralEngine"
    )
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (
        {"Ref": "ReviewQueueMaxAgeSeconds"},
        "GreaterThanThreshold",
    )
    assert template["Parameters"]["ReviewQueueMaxAgeSeconds"]["Default"] == 48 * 3600
    assert alarm["TreatMissingData"] == "notBreaching"
    assert {"Ref": "AlarmTopic"} in alarm["AlarmActions"]
    schedule = only_event(functions["ReviewQueueAgeFunction"], "Schedule")
    assert schedule["Schedule"] == "rate(5 minutes)"
