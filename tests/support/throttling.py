"""DynamoDB refusing requests, in process: a botocore `before-call` hook answers in DynamoDB's place
with the error it chooses, so the handler sees what a throttled (or failing) table returns."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from botocore.awsrequest import AWSResponse, HTTPHeaders

THROTTLED = "ProvisionedThroughputExceededException"
# (operation, the request's partition key) → the error code to answer with, or None to let it through
Refusal = Callable[[str, str], str | None]


def partition_key(params: dict[str, Any]) -> str:
    """The `pk` of the item a GetItem, PutItem or UpdateItem request names."""
    body = json.loads(params["body"] or b"{}")
    key = body.get("Key") or body.get("Item") or {}
    return str(key.get("pk", {}).get("S", ""))


@contextmanager
def refusing(client: Any, refuse: Refusal) -> Iterator[list[tuple[str, str, str]]]:
    """While open, `client`'s DynamoDB requests that `refuse` picks fail with its error code (HTTP 400,
    as DynamoDB answers throttling). Yields the refusals made: (operation, pk, code)."""
    refused: list[tuple[str, str, str]] = []

    def answer(model: Any, params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        pk = partition_key(params)
        code = refuse(model.name, pk)
        if code is None:
            return None
        refused.append((model.name, pk, code))
        parsed = {"Error": {"Code": code, "Message": "refused by the test"}, "ResponseMetadata": {}}
        return AWSResponse("https://dynamodb.invalid/", 400, HTTPHeaders(), None), parsed

    client.meta.events.register("before-call.dynamodb", answer)
    try:
        yield refused
    finally:
        client.meta.events.unregister("before-call.dynamodb", answer)
