"""Creates the template's data resources (tables, queues, buses) on the local AWS endpoint, from the
template's own definitions, and records what Ref/GetAtt of each resolve to. Tables and queues kept
from the last run (ADR 0013) are used as they are."""

from __future__ import annotations

import secrets
from typing import Any

from referrals_local.stack.model import ACCOUNT, REGION, Resolver
from referrals_local.template import Template, resources_of_type, table_create_kwargs, time_to_live_kwargs

_QUEUE_ATTRIBUTES = ("MessageRetentionPeriod", "VisibilityTimeout", "DelaySeconds", "MaximumMessageSize")


def physical_name(stack_name: str, logical_id: str) -> str:
    return f"{stack_name}-{logical_id}"


def create_queue(sqs: Any, name: str, attributes: dict[str, str]) -> str:
    """The queue's URL; a queue kept from the last run (ADR 0013) gets the attributes asked for."""
    try:
        return str(sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])
    except sqs.exceptions.QueueNameExists:
        url = str(sqs.get_queue_url(QueueName=name)["QueueUrl"])
        sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
        return url


def create_resources(template: Template, resolver: Resolver, clients: Any) -> None:
    """`clients(service)` returns a boto3 client for the local endpoint."""
    for logical_id in resources_of_type(template, "AWS::DynamoDB::Table"):
        name = physical_name(resolver.stack_name, logical_id)
        dynamodb = clients("dynamodb")
        try:
            dynamodb.create_table(**table_create_kwargs(template, logical_id, table_name=name))
        except dynamodb.exceptions.ResourceInUseException:
            pass  # restored from the last run's snapshot, with its time to live (ADR 0013)
        else:
            ttl = time_to_live_kwargs(template, logical_id, table_name=name)
            if ttl:
                dynamodb.update_time_to_live(**ttl)
        table = dynamodb.describe_table(TableName=name)["Table"]
        resolver.refs[logical_id] = name
        resolver.attributes[(logical_id, "Arn")] = table["TableArn"]
        if "LatestStreamArn" in table:
            resolver.attributes[(logical_id, "StreamArn")] = table["LatestStreamArn"]

    for logical_id, resource in resources_of_type(template, "AWS::SQS::Queue").items():
        properties = resource.get("Properties", {})
        name = physical_name(resolver.stack_name, logical_id)
        attributes = {key: str(properties[key]) for key in _QUEUE_ATTRIBUTES if key in properties}
        url = create_queue(clients("sqs"), name, attributes)
        resolver.refs[logical_id] = url
        resolver.attributes[(logical_id, "Arn")] = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"
        resolver.attributes[(logical_id, "QueueName")] = name

    for logical_id, resource in resources_of_type(template, "AWS::Events::EventBus").items():
        name = resolver.resolve(resource["Properties"]["Name"])
        arn = clients("events").create_event_bus(Name=name)["EventBusArn"]
        resolver.refs[logical_id] = name
        resolver.attributes[(logical_id, "Arn")] = arn

    for logical_id in resources_of_type(template, "AWS::SecretsManager::Secret"):
        resolver.refs[logical_id] = generated_secret(
            clients("secretsmanager"), physical_name(resolver.stack_name, logical_id)
        )


def generated_secret(secretsmanager: Any, name: str) -> str:
    """The ARN of a secret CloudFormation would generate (GenerateSecretString): a random one."""
    try:
        return str(secretsmanager.create_secret(Name=name, SecretString=secrets.token_urlsafe(48))["ARN"])
    except secretsmanager.exceptions.ResourceExistsException:
        return str(secretsmanager.describe_secret(SecretId=name)["ARN"])
