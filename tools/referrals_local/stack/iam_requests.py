"""What a request to the local AWS endpoint must be allowed to do, as AWS authorises it (ADR 0017): a
list of (IAM action, resource ARN), every one of which must be allowed.

moto knows the action of a request but not its resource for DynamoDB, EventBridge, SSM and SQS, and
does not look inside a transaction. Here, per service and operation:

- DynamoDB: the table (an index's ARN for a Query or Scan on one); TransactWriteItems and
  TransactGetItems as the PutItem, UpdateItem, DeleteItem, ConditionCheckItem or GetItem each item
  is, on that item's table; BatchGetItem and BatchWriteItem once per table named. Streams: the stream
  (a shard iterator starts with its stream's ARN, as AWS's do).
- EventBridge PutEvents: each entry's bus (`default` when it names none).
- SSM: each parameter named (`parameter/{name without its leading slash}`, a version or label
  selector dropped); GetParametersByPath: the path.
- SQS: the queue of the QueueUrl (or QueueName); a batch operation is its single form.

An operation not listed is authorised on `*`, which a statement naming resources does not match: a
new call a function makes is refused here until its resource is worked out, never waved through.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

Authorisation = tuple[str, str]  # IAM action, resource ARN (or `*`)


@dataclass(frozen=True)
class Request:
    service: str  # the signing name: dynamodb (tables and streams), events, ssm, sqs, sts...
    operation: str  # PutItem, PutEvents, GetParameter...
    params: dict[str, Any]  # the request's parameters, as the API names them
    region: str
    account: str

    def arn(self, service: str, kind: str, name: str) -> str:
        """`name`'s ARN; a name may be given as its ARN already."""
        if name.startswith("arn:"):
            return name
        return f"arn:aws:{service}:{self.region}:{self.account}:{kind}/{name}"


# Always allowed, even under an explicit deny, as on AWS.
UNCHECKED = {"sts:GetCallerIdentity"}


def authorisations(request: Request) -> list[Authorisation]:
    per_service = _SERVICES.get(request.service)
    found = per_service(request) if per_service is not None else None
    if found is None:
        found = [(f"{request.service}:{request.operation}", "*")]
    return [pair for pair in found if pair[0] not in UNCHECKED]


# ---------------------------------------------------------------------------------------- DynamoDB

_TRANSACT_WRITE = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}
_STREAM_OPERATIONS = {"DescribeStream", "GetShardIterator", "GetRecords"}


def _table(request: Request, name: str) -> str:
    return request.arn("dynamodb", "table", name)


def _dynamodb(request: Request) -> list[Authorisation] | None:
    operation, params = request.operation, request.params
    if operation == "TransactWriteItems":
        return [
            (f"dynamodb:{_TRANSACT_WRITE.get(kind, kind)}", _table(request, str(op.get("TableName"))))
            for entry in params.get("TransactItems", [])
            for kind, op in entry.items()
        ]
    if operation == "TransactGetItems":
        return [
            ("dynamodb:GetItem", _table(request, str(entry.get("Get", {}).get("TableName"))))
            for entry in params.get("TransactItems", [])
        ]
    if operation in ("BatchGetItem", "BatchWriteItem"):
        return [(f"dynamodb:{operation}", _table(request, name)) for name in params.get("RequestItems", {})]
    if operation in _STREAM_OPERATIONS:
        stream = params.get("StreamArn") or str(params.get("ShardIterator", "")).split("|", 1)[0]
        return [(f"dynamodb:{operation}", stream or "*")]
    if "TableName" in params:
        resource = _table(request, str(params["TableName"]))
        if params.get("IndexName") and operation in ("Query", "Scan"):
            resource = f"{resource}/index/{params['IndexName']}"
        return [(f"dynamodb:{operation}", resource)]
    return None


# ------------------------------------------------------------------------------------- EventBridge


def _events(request: Request) -> list[Authorisation] | None:
    if request.operation != "PutEvents":
        return None
    buses = (str(entry.get("EventBusName") or "default") for entry in request.params.get("Entries", []))
    arns = dict.fromkeys(request.arn("events", "event-bus", bus) for bus in buses)
    return [("events:PutEvents", arn) for arn in arns]


# --------------------------------------------------------------------------------------------- SSM


def _parameter(request: Request, name: str) -> str:
    if not name.startswith("arn:"):
        name = name.split(":", 1)[0].removeprefix("/")  # `name:3` (a version) or `name:label`
    return request.arn("ssm", "parameter", name)


def _ssm(request: Request) -> list[Authorisation] | None:
    action, params = f"ssm:{request.operation}", request.params
    if "Names" in params:
        return [(action, _parameter(request, str(name))) for name in params["Names"]]
    if "Name" in params:
        return [(action, _parameter(request, str(params["Name"])))]
    if "Path" in params:
        return [(action, _parameter(request, str(params["Path"])))]
    return None


# --------------------------------------------------------------------------------------------- SQS


def _sqs(request: Request) -> list[Authorisation] | None:
    action = f"sqs:{request.operation.removesuffix('Batch')}"
    params = request.params
    if "QueueUrl" in params:
        account, _, name = urlparse(str(params["QueueUrl"])).path.strip("/").partition("/")
        return [(action, f"arn:aws:sqs:{request.region}:{account}:{name}")]
    if "QueueName" in params:
        owner = str(params.get("QueueOwnerAWSAccountId") or request.account)
        return [(action, f"arn:aws:sqs:{request.region}:{owner}:{params['QueueName']}")]
    return None


_SERVICES: dict[str, Callable[[Request], list[Authorisation] | None]] = {
    "dynamodb": _dynamodb,
    "events": _events,
    "ssm": _ssm,
    "sqs": _sqs,
}
