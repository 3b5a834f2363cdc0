"""Figure 5: estimated AWS cost per 1M clicks and per 1,000 campaign-less journeys, at list prices,
from the calls counted in figure 1 and the durations measured in figures 2 and 4.

    cost(op) = lambda_request + ceil(duration_ms) * memory_GB * lambda_GB_ms
             + http_api_request (if the op is an HTTP request)
             + WRU * write_unit + RRU * read_unit + events * eventbridge_event

A journey is every invocation figure 1 counts: enrol, click, signup and webhook, and what the template
triggers from them (qualification, reward, and any other function wired to the stream or the bus).
Stream reads by Lambda are free, SQS is negligible, CloudWatch Logs, X-Ray and data transfer are left
out.
"""

from __future__ import annotations

import math
from typing import Any

# us-east-1 list prices, USD.
PRICES = {
    "lambda_request": 0.20 / 1_000_000,
    "lambda_gb_second_arm64": 0.0000133334,
    "http_api_request": 1.00 / 1_000_000,
    "dynamodb_write_unit": 0.625 / 1_000_000,
    "dynamodb_read_unit": 0.125 / 1_000_000,
    "eventbridge_custom_event": 1.00 / 1_000_000,
}


def _memory_mb() -> dict[str, int]:
    from referrals_local.stack.model import functions
    from referrals_local.template import load_template

    return {spec.short_name: spec.memory for spec in functions(load_template(), "bench")}


def invocation_cost(
    calls: dict[str, Any], duration_ms: float, memory_mb: int, http: bool
) -> dict[str, float]:
    gb_seconds = math.ceil(duration_ms) / 1000 * memory_mb / 1024
    return {
        "lambda": PRICES["lambda_request"] + gb_seconds * PRICES["lambda_gb_second_arm64"],
        "http_api": PRICES["http_api_request"] if http else 0.0,
        "dynamodb": calls["wru"] * PRICES["dynamodb_write_unit"]
        + calls["rru"] * PRICES["dynamodb_read_unit"],
        "eventbridge": calls["events"] * PRICES["eventbridge_custom_event"],
    }


def _duration(invocation: dict[str, Any], click: dict[str, Any], durations: dict[str, Any]) -> float:
    function, trigger = invocation["function"], invocation["trigger"]
    if function == "track_click":
        return float(click["p50"]["handler_ms"])
    try:
        return float(durations[function][trigger])
    except KeyError:
        raise SystemExit(
            f"figure 4 has no duration for {function} on {trigger}: run figure 4 again"
        ) from None


def _total(invocations: list[dict[str, Any]], times: int) -> dict[str, float]:
    parts = ("lambda", "http_api", "dynamodb", "eventbridge", "total")
    return {part: times * sum(invocation[part] for invocation in invocations) for part in parts}


def run(calls: dict[str, Any], click: dict[str, Any], end_to_end: dict[str, Any]) -> dict[str, Any]:
    """Prices every invocation of figure 1's journey with figure 2's or figure 4's duration."""
    memory = _memory_mb()
    priced = []
    for invocation in calls["invocations"]:
        duration = _duration(invocation, click, end_to_end["durations_ms"])
        function = invocation["function"]
        http = invocation["trigger"].startswith("http ")
        parts = invocation_cost(invocation, duration, memory[function], http)
        priced.append(
            {
                "step": invocation["step"],
                "function": function,
                "trigger": invocation["trigger"],
                "duration_ms": duration,
                "memory_mb": memory[function],
                **parts,
                "total": sum(parts.values()),
            }
        )
    return {
        "prices_usd": PRICES,
        "invocations": priced,
        "per_1m_clicks_usd": _total([i for i in priced if i["step"] == "click"], 1_000_000),
        "per_1000_journeys_usd": _total(priced, 1000),
    }
