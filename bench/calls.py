"""Figure 1: AWS calls per operation, counted by intercepting boto3 while the real handlers run in
process on realistic events against moto (`mock_aws`, the table built from template.yaml).

One campaign-less journey: advocate enrol, click, signup and generic webhook as HTTP API events, and
after each, whatever the template wires to follow from it, each function handed the event it would
really get: the table's stream records that pass its FilterCriteria, and the events put on the bus
that match its rule's pattern (in EventBridge's envelope). So qualify runs on the webhook's signal,
issue_reward on qualify's `referral.qualified`, and any function added to the template later is
counted too.
"""

from __future__ import annotations

import functools
import importlib
import json
import os
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

from bench.common import fake_aws
from referrals_local.stack.rules import envelope

TITLES = {
    ("api", "http POST /v1/campaigns/{campaign_id}/advocates"): "advocate enrol",
    ("track_click", "http GET /r/{code}"): "click",
    ("api", "http POST /v1/referrals"): "signup",
    ("inbound_webhook", "http GET /hooks/generic/{hook_id}"): "webhook accepted",
    ("qualify", "stream (per record)"): "qualification",
    ("issue_reward", "eventbridge referral.qualified"): "reward",
}
_WRITES = {"PutItem": 1, "UpdateItem": 1, "DeleteItem": 1}
_READS = {"GetItem", "Query", "Scan"}
_CASCADE_LIMIT = 5  # rounds of "this invocation's writes and events trigger that one"


@dataclass(frozen=True)
class Call:
    service: str
    operation: str
    wru: float  # DynamoDB write request units (items <= 1 KB; a transaction item is 2)
    rru: float  # DynamoDB read request units (<= 4 KB; consistent 1, eventually consistent 0.5)
    events: int  # EventBridge custom events put
    target: str  # the key's entity prefix (CODE, REFERRAL, ...) or a transaction's item count


def _call(service: str, operation: str, params: dict[str, Any]) -> Call:
    wru = rru = 0.0
    events = 0
    if service == "dynamodb":
        consistent = 1.0 if params.get("ConsistentRead") else 0.5
        if operation in _WRITES:
            wru = _WRITES[operation]
        elif operation == "TransactWriteItems":
            wru = 2.0 * len(params["TransactItems"])
        elif operation == "BatchWriteItem":
            wru = float(sum(len(requests) for requests in params["RequestItems"].values()))
        elif operation in _READS:
            rru = consistent
        elif operation == "TransactGetItems":
            rru = 2.0 * len(params["TransactItems"])
        elif operation == "BatchGetItem":
            rru = sum(len(table["Keys"]) * 0.5 for table in params["RequestItems"].values())
    elif service == "eventbridge" and operation == "PutEvents":
        events = len(params["Entries"])
    key = params.get("Key") or params.get("Item") or {}
    if "pk" in key:
        target = key["pk"]["S"].split("#")[0]
    elif operation.startswith("Transact"):
        target = f"{len(params['TransactItems'])} items"
    else:
        target = params.get("IndexName", "")
    return Call(service, operation, wru, rru, events, target)


@dataclass
class Recorder:
    """A botocore `before-parameter-build` hook: records the calls made inside `recording()`, and
    keeps every event put on the bus as EventBridge would deliver it."""

    bus: list[dict[str, Any]] = field(default_factory=list)
    _calls: list[Call] | None = None

    def hook(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        service = model.service_model.service_id.hyphenize()
        if self._calls is not None:
            self._calls.append(_call(service, model.name, params))
        if service == "eventbridge" and model.name == "PutEvents":
            for entry in params["Entries"]:
                event = {"source": entry["Source"], "detail-type": entry["DetailType"]}
                self.bus.append(envelope({**event, "detail": json.loads(entry["Detail"])}))

    @contextmanager
    def recording(self) -> Iterator[list[Call]]:
        self._calls = calls = list[Call]()
        try:
            yield calls
        finally:
            self._calls = None


def summary(calls: list[Call]) -> dict[str, Any]:
    dynamodb = [c for c in calls if c.service == "dynamodb"]
    return {
        "dynamodb_calls": len(dynamodb),
        "dynamodb_operations": dict(Counter(c.operation for c in dynamodb)),
        "wru": sum(c.wru for c in calls),
        "rru": sum(c.rru for c in calls),
        "events": sum(c.events for c in calls),
        "calls": [asdict(c) for c in calls],
    }


@dataclass(frozen=True)
class _Trigger:
    function: str  # the handler module, e.g. "qualify"
    kind: str  # "DynamoDB" or "EventBridgeRule"
    pattern: Any  # the stream's FilterCriteria patterns, or the rule's event pattern


def _triggers() -> list[_Trigger]:
    from referrals_local.stack.filters import filter_patterns
    from referrals_local.stack.model import functions
    from referrals_local.template import load_template

    found = []
    for spec in functions(load_template(), "bench"):
        module = spec.handler.split(".")[0]
        for event in spec.events:
            if event.type == "DynamoDB":
                found.append(_Trigger(module, event.type, filter_patterns(event.properties)))
            elif event.type == "EventBridgeRule":
                found.append(_Trigger(module, event.type, event.properties["Pattern"]))
    return found


def _item_bytes(value: Any) -> int:
    """Approximate DynamoDB size of an attribute value (names and values as UTF-8, numbers <= 21 B)."""
    (kind, inner), *_ = value.items()
    if kind == "M":
        return 3 + sum(len(k.encode()) + _item_bytes(v) for k, v in inner.items())
    if kind == "L":
        return 3 + sum(1 + _item_bytes(v) for v in inner)
    if kind == "N":
        return min(21, len(inner) // 2 + 2)
    if kind in ("S", "B"):
        return len(str(inner).encode())
    return 1


@dataclass
class _Journey:
    """Runs handlers under the recorder, then whatever the template triggers from what they did."""

    recorder: Recorder
    stream: Any  # referrals_local.stack.stream_reader.StreamReader over the table's stream
    triggers: list[_Trigger]
    invocations: list[dict[str, Any]] = field(default_factory=list)

    def invoke(self, step: str, function: str, trigger: str, call: Callable[[], Any]) -> Any:
        with self.recorder.recording() as calls:
            outcome = call()
        self.invocations.append({"step": step, "function": function, "trigger": trigger, **summary(calls)})
        return outcome

    def follow(self, step: str) -> None:
        """Hands each function the stream records and bus events `step` produced, until none are left."""
        from referrals_local.stack.filters import matches, passes
        from support.events import LambdaContext

        for _ in range(_CASCADE_LIMIT):
            records = [record for _, record in self.stream.read()]
            events, self.recorder.bus[:] = list(self.recorder.bus), []
            pending: list[tuple[str, str, dict[str, Any]]] = []
            for trigger in self.triggers:
                if trigger.kind == "DynamoDB":  # one record per invocation, as at low traffic
                    pending += [
                        (trigger.function, "stream (per record)", {"Records": [record]})
                        for record in records
                        if passes(trigger.pattern, record)
                    ]
                else:
                    pending += [
                        (trigger.function, f"eventbridge {event['detail-type']}", event)
                        for event in events
                        if matches(trigger.pattern, event)
                    ]
            if not pending:
                return
            for function, label, payload in pending:
                handler = importlib.import_module(function).handler
                self.invoke(
                    step, function, label, functools.partial(handler, payload, LambdaContext(function))
                )
        raise RuntimeError(f"{step}: triggers still firing after {_CASCADE_LIMIT} rounds")


def _largest_items(items: list[dict[str, Any]]) -> dict[str, int]:
    largest: dict[str, int] = {}
    for item in items:
        entity = item["entity"]["S"]
        size = sum(len(name.encode()) + _item_bytes(value) for name, value in item.items())
        largest[entity] = max(size, largest.get(entity, 0))
    return largest


def run() -> dict[str, Any]:
    from referral_engine import wiring
    from referral_engine.adapters import aws
    from referrals_local.stack.stream_reader import StreamReader
    from support import journey
    from support.aws import API_KEY, BUS, TABLE, aws_stack, reset_caches

    recorder = Recorder()
    with fake_aws(TABLE_NAME=TABLE, EVENT_BUS_NAME=BUS), aws_stack() as stack:
        os.environ["EXCEPTIONS_QUEUE_URL"] = stack.exceptions_queue_url
        # Hook the botocore session the handlers' clients will come from (adapters/aws.py).
        reset_caches()
        aws.session().register("before-parameter-build", recorder.hook)  # type: ignore[arg-type]
        stream_arn = aws.dynamodb().describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
        flow = _Journey(recorder, StreamReader(aws.client("dynamodbstreams"), stream_arn), _triggers())
        wiring.api_keys().create("bench", API_KEY)
        campaign = journey.create_campaign()  # also warms the API key cache, as in a warm container
        flow.stream.read()  # what the set-up wrote is not the journey's
        recorder.bus.clear()

        enrol = "http POST /v1/campaigns/{campaign_id}/advocates"
        code = flow.invoke("enrol", "api", enrol, lambda: journey.enrol(campaign["id"]))["code"]
        flow.follow("enrol")
        clicked = flow.invoke("click", "track_click", "http GET /r/{code}", lambda: journey.click(code))
        flow.follow("click")
        referral = flow.invoke("signup", "api", "http POST /v1/referrals", lambda: journey.sign_up(code))
        flow.follow("signup")
        query = {"code": referral["referral_code"], "event_id": "order-1", "amount": "79.00"}
        hook_id = journey.hook_id_of(campaign)
        hook = "http GET /hooks/generic/{hook_id}"
        hooked = flow.invoke("webhook", "inbound_webhook", hook, lambda: journey.generic_hook(hook_id, query))
        flow.follow("webhook")
        status = json.loads(journey.get_referral(referral["id"])["body"])["status"]
        items = aws.dynamodb().scan(TableName=TABLE)["Items"]

    if (clicked["statusCode"], hooked["statusCode"], status) != (302, 202, "rewarded"):
        raise RuntimeError(f"the journey went wrong: click {clicked}, webhook {hooked}, status {status}")
    return {"invocations": flow.invocations, "largest_item_bytes": _largest_items(items)}
