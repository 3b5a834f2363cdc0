"""Chaos mode (ADR 0016): faults injected on purpose, at given rates per service and operation, into the
local AWS endpoint (and any HTTP fake that asks `Chaos.decide`).

A spec is rules separated by commas, each `TARGET=FAULT@RATE`:

    dynamodb:UpdateItem=throttle@0.2,sqs=500@5%,events:PutEvents=timeout@0.1,*=latency:200ms@0.3

- TARGET: `*` (every request), a service (`dynamodb`, `dynamodbstreams`, `sqs`, `events`, `ssm`, or a
  fake's own name) or `service:Operation` (the API's operation name, as in `UpdateItem`).
- FAULT:
  - `throttle`: the service's own throttling error (DynamoDB ProvisionedThroughputExceededException or
    ThrottlingException, SQS RequestThrottled, EventBridge and SSM ThrottlingException; HTTP 400);
  - `500`: the service's internal error (HTTP 500);
  - `timeout` or `timeout:DURATION`: the request is held DURATION (default 1s), then the connection is
    closed with no answer, as a client sees its read timeout fire;
  - `timeout-after` or `timeout-after:DURATION`: the same, but the operation IS applied first (the
    answer is lost on the way back: what idempotent retries are for);
  - `latency:DURATION`: the answer is delayed by DURATION.
- RATE: a probability, `0.2` or `20%`.
- DURATION: a number with `ms` or `s` (`200ms`, `1.5s`).

Every rule whose target matches a request draws on its own. Latencies add up; the first failure drawn,
in the spec's order, answers the request. Every failure but `timeout-after` answers BEFORE the
operation runs, so nothing is half-applied. A draw depends only on the seed, the rule, the operation
and how many requests that rule has seen for it: the same seed gives the same faults for the same
sequence of calls.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

FaultKind = Literal["throttle", "500", "timeout", "timeout-after", "latency"]
FAILURES: tuple[FaultKind, ...] = ("throttle", "500", "timeout", "timeout-after")
DEFAULT_HOLD_S = 1.0
RUNNER_HEADER = "x-referrals-runner"  # the runner's own AWS calls: never faulted
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s)$")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]*$")


class ChaosSpecError(ValueError):
    """A spec that cannot be read; the message names the rule and says what is expected."""


@dataclass(frozen=True)
class Rule:
    service: str  # "*": every service
    operation: str | None  # None: every operation
    fault: FaultKind
    rate: float
    seconds: float = 0.0  # latency added, or how long a timeout holds the request

    def matches(self, service: str, operation: str) -> bool:
        return self.service in ("*", service) and self.operation in (None, operation)

    def __str__(self) -> str:
        target = self.service if self.operation is None else f"{self.service}:{self.operation}"
        duration = (
            f":{self.seconds * 1000:g}ms" if self.fault in ("latency", "timeout", "timeout-after") else ""
        )
        return f"{target}={self.fault}{duration}@{self.rate:g}"


def _duration(text: str, rule: str) -> float:
    match = _DURATION.fullmatch(text)
    if match is None:
        raise ChaosSpecError(f"{rule!r}: {text!r} is not a duration; write e.g. 200ms or 1.5s")
    number = float(match[1])
    return number / 1000 if match[2] == "ms" else number


def _rate(text: str, rule: str) -> float:
    try:
        rate = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        rate = -1.0
    if not 0.0 <= rate <= 1.0:
        raise ChaosSpecError(f"{rule!r}: the rate {text!r} is not between 0 and 1 (or 0% and 100%)")
    return rate


def _fault(text: str, rule: str) -> tuple[FaultKind, float]:
    name, _, argument = text.partition(":")
    if name in ("throttle", "500") and not argument:
        return name, 0.0  # type: ignore[return-value]  # narrowed by the test above
    if name in ("timeout", "timeout-after"):
        return name, _duration(argument, rule) if argument else DEFAULT_HOLD_S  # type: ignore[return-value]
    if name == "latency" and argument:
        return "latency", _duration(argument, rule)
    raise ChaosSpecError(
        f"{rule!r}: unknown fault {text!r}; expected throttle, 500, timeout[:DURATION], "
        "timeout-after[:DURATION] or latency:DURATION"
    )


def _rule(text: str) -> Rule:
    target, equals, rest = text.partition("=")
    fault_text, at, rate_text = rest.rpartition("@")
    if not equals or not at:
        raise ChaosSpecError(f"{text!r}: a rule is TARGET=FAULT@RATE, e.g. dynamodb:PutItem=throttle@0.2")
    service, _, operation = target.strip().partition(":")
    if (service != "*" and not _NAME.fullmatch(service)) or (operation and not _NAME.fullmatch(operation)):
        raise ChaosSpecError(
            f"{text!r}: the target is *, a service or service:Operation, e.g. sqs:SendMessage"
        )
    if service == "*" and operation:
        raise ChaosSpecError(f"{text!r}: `*` stands for every service and operation; name a service first")
    fault, seconds = _fault(fault_text.strip(), text)
    return Rule(service.lower(), operation or None, fault, _rate(rate_text.strip(), text), seconds)


def parse_spec(text: str) -> tuple[Rule, ...]:
    """The rules of a spec (empty for an empty spec); ChaosSpecError says what is wrong."""
    return tuple(_rule(part.strip()) for part in text.split(",") if part.strip())


@dataclass(frozen=True)
class Decision:
    latency: float = 0.0  # seconds to wait before anything else
    failure: Rule | None = None  # the fault that answers the request, if any


NO_FAULT = Decision()


@dataclass
class Chaos:
    """Decides, per request, which faults it meets. Thread-safe; the spec can be replaced while serving."""

    rules: tuple[Rule, ...] = ()
    seed: int = 0
    injected: Counter[str] = field(default_factory=Counter)  # "service:Operation=fault" → how many
    _seen: Counter[tuple[int, str, str]] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_spec(cls, spec: str, seed: int = 0) -> Chaos:
        return cls(parse_spec(spec), seed)

    def replace(self, spec: str) -> None:
        rules = parse_spec(spec)  # a bad spec changes nothing
        with self._lock:
            self.rules = rules

    def describe(self) -> dict[str, object]:
        with self._lock:
            return {
                "spec": ",".join(str(rule) for rule in self.rules),
                "seed": self.seed,
                "injected": dict(self.injected),
            }

    def _draw(self, index: int, service: str, operation: str) -> float:
        key = (index, service, operation)
        self._seen[key] += 1
        text = f"{self.seed}|{index}|{service}|{operation}|{self._seen[key]}"
        digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big") / 2**64

    def decide(self, service: str, operation: str) -> Decision:
        latency, failure = 0.0, None
        with self._lock:
            for index, rule in enumerate(self.rules):
                if not rule.matches(service, operation) or self._draw(index, service, operation) >= rule.rate:
                    continue
                if rule.fault == "latency":
                    latency += rule.seconds
                elif failure is None:
                    failure = rule
            if failure is not None:
                self.injected[f"{service}:{operation}={failure.fault}"] += 1
        return Decision(latency, failure) if latency or failure else NO_FAULT


# ------------------------------------------------------------------------------------ wire formats
# DynamoDB, SQS (AWS JSON 1.0), EventBridge and SSM (AWS JSON 1.1) answer an error with `__type` and a
# message; SQS adds the query-compatible code in `x-amzn-query-error`. See
# https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html and
# https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-json-api-responses.html


@dataclass(frozen=True)
class Wire:
    content_type: str
    throttle: str  # `__type` of the throttling error
    internal: str  # `__type` of the internal error
    query_codes: tuple[str, str] | None = None  # SQS: x-amzn-query-error codes (throttle, internal)


_DYNAMODB = "com.amazonaws.dynamodb.v20120810#"
_WIRES = {
    "dynamodb": Wire(
        "application/x-amz-json-1.0",
        f"{_DYNAMODB}ProvisionedThroughputExceededException",
        f"{_DYNAMODB}InternalServerError",
    ),
    "dynamodbstreams": Wire(
        "application/x-amz-json-1.0",
        "com.amazon.coral.availability#ThrottlingException",
        f"{_DYNAMODB}InternalServerError",
    ),
    "sqs": Wire(
        "application/x-amz-json-1.0",
        "com.amazonaws.sqs#RequestThrottled",
        "com.amazonaws.sqs#InternalFailure",  # the common errors' 500
        ("RequestThrottled;Sender", "InternalFailure;Receiver"),
    ),
}
_JSON_11 = Wire("application/x-amz-json-1.1", "ThrottlingException", "InternalException")  # events, ssm
# DynamoDB's control plane (tables, streams' descriptions) throttles with ThrottlingException.
_CONTROL_PLANE = re.compile(r"^(Create|Delete|Describe|List|Update)\w*Table\w*$|^(Describe|List)\w*$")


def aws_error(service: str, operation: str, fault: FaultKind) -> tuple[int, dict[str, str], str]:
    """The status, headers and body the real service answers for an injected throttle or 500."""
    wire = _WIRES.get(service, _JSON_11)
    throttled = fault == "throttle"
    error_type = wire.throttle if throttled else wire.internal
    if throttled and service == "dynamodb" and _CONTROL_PLANE.match(operation):
        error_type = "com.amazon.coral.availability#ThrottlingException"
    headers = {"Content-Type": wire.content_type, "x-amzn-injected-fault": fault}
    if wire.query_codes is not None:
        headers["x-amzn-query-error"] = wire.query_codes[0 if throttled else 1]
    message = (
        "Rate exceeded (injected by chaos mode)" if throttled else "Internal error (injected by chaos mode)"
    )
    body = json.dumps({"__type": error_type, "message": message})
    return (400 if throttled else 500), headers, body


def http_error(fault: FaultKind) -> tuple[int, dict[str, str]]:
    """A plain HTTP fake's throttle (429, Retry-After) or internal error (500)."""
    if fault == "throttle":
        return 429, {"Retry-After": "1"}
    return 500, {}
