"""The results as one markdown table plus short notes, and as JSON in bench/results/latest.json."""

from __future__ import annotations

import json
import os
import platform
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import calls

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
Row = tuple[str, str, str, str, str]


def load() -> dict[str, Any]:
    """The last saved results, by figure number ("1".."6"); empty if there are none."""
    if not RESULTS.exists():
        return {}
    figures: dict[str, Any] = json.loads(RESULTS.read_text())["figures"]
    return figures


def save(figures: dict[str, Any]) -> None:
    RESULTS.parent.mkdir(exist_ok=True)
    document = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": sys.version.split()[0], "platform": platform.platform(), "cpus": _cpus()},
        "figures": figures,
    }
    RESULTS.write_text(json.dumps(document, indent=2) + "\n")


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0


def _met(ok: bool) -> str:
    return "yes" if ok else "**NO**"


def _size(count: float) -> str:
    for unit in ("B", "KB", "MB"):
        if count < 1024 or unit == "MB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    raise AssertionError("unreachable")


def _operations(invocation: dict[str, Any]) -> str:
    """E.g. "3: GetItem(CODE), GetItem(CAMPAIGN), TransactWriteItems(5 items) + PutEvents"."""
    calls = invocation["calls"]
    dynamodb = [f"{c['operation']}({c['target']})" for c in calls if c["service"] == "dynamodb"]
    others = "".join(f" + {c['operation']}" for c in calls if c["service"] != "dynamodb")
    return f"{len(dynamodb)}: {', '.join(dynamodb) or 'none'}{others}"


def _invocation(invocation: dict[str, Any]) -> str:
    function, trigger = invocation["function"], invocation["trigger"]
    short = trigger.removeprefix("http ").removeprefix("eventbridge ").replace(" (per record)", " record")
    title = calls.TITLES.get((function, trigger))
    return (
        f"{title} ({function} ← {short})"
        if title
        else f"{function} ← {short}, after the {invocation['step']}"
    )


def _figure1(result: dict[str, Any]) -> Iterator[Row]:
    for invocation in result["invocations"]:
        count = invocation["dynamodb_calls"]
        goal, met = ("= 1", _met(count == 1)) if invocation["function"] == "track_click" else ("-", "-")
        yield "1", f"DynamoDB calls: {_invocation(invocation)}", _operations(invocation), goal, met


def _figure2(result: dict[str, Any]) -> Iterator[Row]:
    for label in ("p50", "p99"):
        stat = result[label]
        measured = f"{stat['ratio']:.2f}x ({stat['handler_ms']:.2f} vs {stat['bare_ms']:.2f} ms)"
        goal = f"≤ {result['goal_ratio']}x"
        yield "2", f"click handler / bare UpdateItem, {label}", measured, goal, _met(stat["ratio"] <= 1.25)


def _figure3(result: dict[str, Any]) -> Iterator[Row]:
    goal = f"≤ {result['goal_ratio']}x"
    noisy = ", noisy" if result.get("noisy") else ""
    for function, found in result["functions"].items():
        clients = " + ".join(found["clients"])
        what = f"cold init: import {function} + {clients} client{'s' if len(found['clients']) > 1 else ''}"
        measured = (
            f"{found['ratio']:.2f}x, CPU {found.get('cpu_ratio', found['ratio']):.2f}x"
            f" ({found['median_ms']:.0f} vs {result['baseline_ms']:.0f} ms{noisy})"
        )
        yield "3", what, measured, goal, _met(found["ratio"] <= result["goal_ratio"])
    packages = result["packages"]
    functions = " · ".join(f"{name} {_size(packages[name]['zip_bytes'])}" for name in result["functions"])
    yield "3", "function packages (zip)", functions, "-", "-"
    layer = packages["layer"]
    layer_size = f"{_size(layer['zip_bytes'])} zip, {_size(layer['unzipped_bytes'])} unzipped"
    yield "3", "shared layer (referral_engine + requirements)", layer_size, "-", "-"


def _figure4(result: dict[str, Any]) -> Iterator[Row]:
    latency = result["webhook_to_reward"]
    measured = f"{latency['p50_ms'] / 1000:.2f} s / {latency['p99_ms'] / 1000:.2f} s"
    goal = f"p99 ≤ {result['goal_p99_s']:.0f} s"
    met = _met(latency["p99_ms"] <= result["goal_p99_s"] * 1000)
    yield "4", f"webhook 202 → reward issued, p50 / p99 (n={result['referrals']})", measured, goal, met
    clicks = result["clicks"]
    measured = f"{clicks['clicks_per_s']:.0f} /s ({clicks['errors']} errors, p50 {clicks['p50_ms']:.0f} ms)"
    what = f"sustained clicks, {clicks['clients']} clients, {clicks['seconds']:.0f} s"
    yield "4", what, measured, "-", "-"


def _figure5(result: dict[str, Any]) -> Iterator[Row]:
    yield "5", "cost per 1M clicks", f"${result['per_1m_clicks_usd']['total']:.2f}", "-", "-"
    journeys = result["per_1000_journeys_usd"]["total"]
    yield "5", "cost per 1,000 campaign-less journeys (enrol → reward)", f"${journeys:.3f}", "-", "-"


def _figure6(result: dict[str, Any]) -> Iterator[Row]:
    goal_share = result["goal_counted"]
    for name, layout in result["layouts"].items():
        clicks = layout["clicks"]
        what = f"one code at {result['load_x']}x a partition's write limit ({name}), {clicks:,} clicks"
        yield (
            "6",
            f"{what}: failed redirects",
            str(layout["failed_redirects"]),
            "0",
            _met(layout["failed_redirects"] == 0),
        )
        lost = layout["lost_metered"]
        counted = f"{layout['counted_share']:.2%} ({layout['counted']:,}; lost and metered {lost:,})"
        if layout["partitions"] == "one per key":
            yield (
                "6",
                f"{what}: clicks counted",
                counted,
                f"≥ {goal_share:.1%}",
                _met(layout["counted_share"] >= goal_share),
            )
        else:
            yield "6", f"{what}: clicks counted", counted, "-", "-"


ROWS = {"1": _figure1, "2": _figure2, "3": _figure3, "4": _figure4, "5": _figure5, "6": _figure6}


def table(figures: dict[str, Any]) -> str:
    lines = ["| # | measure | result | goal | met |", "|---|---|---|---|---|"]
    for number, rows in ROWS.items():
        if number in figures:
            lines += ["| " + " | ".join(row) + " |" for row in rows(figures[number])]
    return "\n".join(lines)


def _note1(result: dict[str, Any]) -> str:
    largest = result["largest_item_bytes"]
    entity = max(largest, key=lambda name: largest[name])
    return (
        "1. The handlers in process on realistic events (events/, tests/support) against moto `mock_aws`, "
        "the table from template.yaml; calls counted by a botocore `before-parameter-build` hook. Warm "
        "container: the API key check is cached for 5 s (a cold one adds a GetItem). Units: a write "
        "≤ 1 KB = 1 WRU, a transaction item 2 WRU, a read ≤ 4 KB 1 RRU (eventually consistent 0.5); "
        f"the largest item written was a {entity}, {largest[entity]} B."
    )


def _note2(result: dict[str, Any]) -> str:
    overhead = result["p50"]["handler_ms"] - result["p50"]["bare_ms"]
    return (
        f"2. {result['iterations']} interleaved pairs after {result['warmup']} warm-ups against a moto "
        f"server on loopback; handler minus bare call at p50: {overhead:+.2f} ms."
    )


def _note3(result: dict[str, Any]) -> str:
    missed = [
        f"{function}: "
        + ", ".join(f"{package} {spent:.0f}" for package, spent in found["imports_ms"].items())
        for function, found in result["functions"].items()
        if found["ratio"] > result["goal_ratio"]
    ]
    sam = result["packages"].get("layer_sam_build")
    return (
        f"3. Median of the per-round ratios over {result['rounds']} shuffled rounds of fresh processes "
        f"(Python {result['python']} here; Lambda runs 3.13 on arm64), start-up of the interpreter left "
        "out; baseline: `import boto3` + one client"
        + (
            f", its spread {result['baseline_spread']:.0%} of its median (noisy above 15%). "
            if "baseline_spread" in result
            else ". "
        )
        + f"Import self-time by package (ms) where the goal is missed: {'; '.join(missed) or 'none'}. "
        "Sizes: each function directory zipped; the layer as sam builds it, layers/common under python/ "
        "plus the installed files of each distribution in layers/common/requirements.txt (from .venv)"
        + (f"; the last `sam build`'s layer zips to {_size(sam['zip_bytes'])}." if sam else ".")
    )


def _note4(result: dict[str, Any]) -> str:
    qualified = result["webhook_to_qualified"]
    durations = result["durations_ms"]
    webhook = durations["inbound_webhook"]["http GET /hooks/generic/{hook_id}"]
    qualify = durations["qualify"]["stream (per record)"]
    reward = durations["issue_reward"]["eventbridge referral.qualified"]
    per_round = result["referrals"] // result["rounds"]
    return (
        f"4. {result['rounds']} fresh local stacks x {per_round} referrals, set up first; webhooks at "
        f"≤ {result['webhook_rate_per_s']:.0f}/s with at most {result['max_in_flight']} journey(s) in "
        "flight. "
        f"Max {result['webhook_to_reward']['max_ms'] / 1000:.2f} s; webhook → qualified p50 "
        f"{qualified['p50_ms'] / 1000:.2f} s, p99 {qualified['p99_ms'] / 1000:.2f} s. Warm median "
        f"durations: inbound_webhook {webhook:.0f} ms, qualify {qualify:.0f} ms per record, issue_reward "
        f"{reward:.0f} ms: moto sets these, not our code (bench/README.md)."
    )


def _note5(result: dict[str, Any]) -> str:
    journey = result["per_1000_journeys_usd"]
    parts = ", ".join(
        f"{part} ${journey[part]:.4f}" for part in ("lambda", "http_api", "dynamodb", "eventbridge")
    )
    return (
        "5. cost(op) = $0.20/1M Lambda requests + ceil(duration ms) x 0.5 GB x $0.0000133334 per GB-s "
        "+ $1.00/1M HTTP API requests + WRU x $0.625/1M + RRU x $0.125/1M + events x $1.00/1M "
        "(us-east-1, arm64; stream reads free; SQS, logs, X-Ray and transfer left out), summed over "
        f"figure 1's {len(result['invocations'])} invocations per journey; durations: the click's from "
        f"figure 2, the others' from figure 4. Per 1,000 journeys: {parts}."
    )


def _note6(result: dict[str, Any]) -> str:
    layouts = "; ".join(
        f"{name}: {layout['write_attempts']:,} write attempts, {layout['writes_throttled']:,} throttled, "
        f"{layout['target_reads']} target reads, {layout['wall_s']:.0f} s"
        for name, layout in result["layouts"].items()
    )
    return (
        f"6. track_click in process against moto; DynamoDB's per-partition limits (1,000 writes/s, 3,000 "
        f"reads/s, {result['burst_s']} s of burst) played by a botocore hook on a virtual clock at "
        f"{result['rate_per_s']:,.0f} clicks/s over {result['containers']} containers; counted = the "
        f"participant view's sum. {layouts}. Not measured: DynamoDB's own split-for-heat timing."
    )


NOTES = {"1": _note1, "2": _note2, "3": _note3, "4": _note4, "5": _note5, "6": _note6}


def notes(figures: dict[str, Any]) -> str:
    return "\n".join(note(figures[number]) for number, note in NOTES.items() if number in figures)


def markdown(figures: dict[str, Any]) -> str:
    return f"{table(figures)}\n\n{notes(figures)}\n"
