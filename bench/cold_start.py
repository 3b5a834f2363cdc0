"""Figure 3: cold init of each handler in a fresh process vs. `import boto3` + one client (goal <= 1.3x),
and each function's deployment package size.

Cold init is timed inside a fresh interpreter with the function's Lambda environment (PYTHONPATH = the
function's directory + the layer, as referrals_local runs it): `import <handler module>` plus the boto3
clients its first invocation creates. Interpreter start-up is the same for both sides and left out.
"""

from __future__ import annotations

import io
import random
import re
import statistics
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.common import REGION, REPO

ROUNDS = 15  # measured, after one round that warms the page cache and writes .pyc files
GOAL_RATIO = 1.3
NOISY_SPREAD = 0.15  # the baseline's interquartile range over its median beyond which a run is noisy
BASELINE = "boto3 + client"
# The clients a handler's first invocations create (referral_engine.adapters.aws, via wiring);
# any other function in the template is taken to create one DynamoDB client.
CLIENTS = {
    "qualify": ("dynamodb", "events"),  # the EventBridge publisher is built with the service
    "announce_referrals": ("events",),  # it only publishes referral.created
    "deliver_events": ("dynamodb",),  # subscriptions and the delivery log
    "admin": ("dynamodb", "sqs"),  # the API keys and the failure queues
    "track_click": ("dynamodb_without_retries",),  # its own client: retries on other shards (ADR 0014)
}
DEFAULT_CLIENTS = ("dynamodb",)
_PROBE = """
import importlib, sys, time
started, cpu = time.perf_counter(), time.process_time()
if sys.argv[1] == "-":
    import boto3
    boto3.client("dynamodb")
else:
    importlib.import_module(sys.argv[1])
    from referral_engine.adapters import aws
    for name in sys.argv[2:]:
        getattr(aws, name)()
print(time.perf_counter() - started, time.process_time() - cpu)
"""
_IMPORTTIME = re.compile(r"^import time:\s+(\d+) \|\s+\d+ \| +(\S+)$")


def _environments() -> dict[str, dict[str, str]]:
    """Each function's environment as the local stack gives it (template literals + Lambda's own)."""
    from referrals_local.stack.model import functions
    from referrals_local.stack.runtime import function_environment
    from referrals_local.template import load_template

    environments = {}
    for spec in functions(load_template(), "bench"):
        variables = {name: v for name, v in spec.environment.items() if isinstance(v, str)}
        variables["TABLE_NAME"] = "bench"
        environments[spec.short_name] = function_environment(
            spec, variables, endpoint_url="http://127.0.0.1:9", region=REGION
        )
    return environments


def _probe(target: str, env: dict[str, str]) -> tuple[float, float]:
    """(wall, CPU) ms of one cold init in a fresh interpreter."""
    module = "-" if target == BASELINE else target
    clients = () if target == BASELINE else CLIENTS.get(target, DEFAULT_CLIENTS)
    output = subprocess.run(  # noqa: S603 - our own interpreter and probe
        [sys.executable, "-c", _PROBE, module, *clients],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    wall, cpu = output.stdout.split()
    return float(wall) * 1000, float(cpu) * 1000


def _import_breakdown(module: str, env: dict[str, str], count: int = 5) -> dict[str, float]:
    """Where `python -X importtime -c "import <module>"` spends its time: self time summed per top-level
    package (boto3 and botocore, pydantic, aws_lambda_powertools, ...), the heaviest first, in ms."""
    output = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    totals: dict[str, float] = {}
    for line in output.stderr.splitlines():
        if match := _IMPORTTIME.match(line):
            package = match.group(2).split(".")[0]
            totals[package] = totals.get(package, 0.0) + int(match.group(1)) / 1000
    heaviest = sorted(totals.items(), key=lambda item: -item[1])[:count]
    return {package: round(spent, 1) for package, spent in heaviest}


def _zip_size(files: list[tuple[Path, str]]) -> tuple[int, int]:
    """(zipped, unzipped) bytes of the given (file, name in archive) pairs, deflated as `sam` zips."""
    buffer = io.BytesIO()
    unzipped = 0
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, name in sorted(files, key=lambda f: f[1]):
            archive.write(path, name)
            unzipped += path.stat().st_size
    return len(buffer.getvalue()), unzipped


def _shipped(path: Path) -> bool:
    return "__pycache__" not in path.parts and path.suffix != ".pyc" and path.is_file()


def _tree(root: Path, prefix: str = "") -> list[tuple[Path, str]]:
    return [(p, prefix + p.relative_to(root).as_posix()) for p in root.rglob("*") if _shipped(p)]


def _layer_files() -> list[tuple[Path, str]]:
    """The layer as `sam build` makes it: layers/common under python/, plus the installed files of
    every distribution in layers/common/requirements.txt (taken from this .venv)."""
    layer = REPO / "layers" / "common"
    files = _tree(layer, "python/")
    for line in (layer / "requirements.txt").read_text().splitlines():
        requirement = line.split("#")[0].strip()
        if not requirement:
            continue
        distribution = metadata.distribution(re.split(r"[=<>!~;\[ ]", requirement)[0])
        for file in distribution.files or []:
            path = Path(str(distribution.locate_file(file)))
            if _shipped(path) and ".." not in file.parts:
                files.append((path, f"python/{file.as_posix()}"))
    return files


def package_sizes(functions: list[str]) -> dict[str, Any]:
    sizes: dict[str, Any] = {}
    for function in functions:
        zipped, unzipped = _zip_size(_tree(REPO / "functions" / function))
        sizes[function] = {"zip_bytes": zipped, "unzipped_bytes": unzipped}
    zipped, unzipped = _zip_size(_layer_files())
    sizes["layer"] = {"zip_bytes": zipped, "unzipped_bytes": unzipped}
    built = REPO / ".aws-sam" / "build" / "CommonLayer"
    if built.is_dir():  # cross-check against a real `sam build` (arm64, python3.13), when there is one
        zipped, unzipped = _zip_size(_tree(built, "python/"))
        sizes["layer_sam_build"] = {"zip_bytes": zipped, "unzipped_bytes": unzipped}
    return sizes


def _spread(samples: list[float]) -> float:
    """The interquartile range over the median."""
    quartiles = statistics.quantiles(samples, n=4)
    return (quartiles[2] - quartiles[0]) / statistics.median(samples)


def run(rounds: int = ROUNDS) -> dict[str, Any]:
    """Each round probes every target once, in an order shuffled per round (so neither drift nor a
    neighbour's load favours one target); a function's ratio is the median of its per-round ratios to
    that round's baseline, which cancels what a loaded machine adds to the whole round."""
    environments = _environments()
    baseline_env = {**environments["track_click"], "PYTHONPATH": ""}
    targets = {BASELINE: baseline_env, **environments}
    wall: dict[str, list[float]] = {target: [] for target in targets}
    cpu: dict[str, list[float]] = {target: [] for target in targets}
    for round_number in range(rounds + 1):
        order = list(targets)
        random.Random(round_number).shuffle(order)  # noqa: S311 - an order, not a secret
        for target in order:
            elapsed, spent = _probe(target, targets[target])
            if round_number:
                wall[target].append(elapsed)
                cpu[target].append(spent)
    baseline = statistics.median(wall[BASELINE])
    functions: dict[str, Any] = {}
    for function in environments:
        ratios = [f / b for f, b in zip(wall[function], wall[BASELINE], strict=True)]
        cpu_ratios = [f / b for f, b in zip(cpu[function], cpu[BASELINE], strict=True)]
        functions[function] = {
            "median_ms": round(statistics.median(wall[function]), 1),
            "cpu_median_ms": round(statistics.median(cpu[function]), 1),
            "ratio": round(statistics.median(ratios), 2),
            "cpu_ratio": round(statistics.median(cpu_ratios), 2),
            "clients": list(CLIENTS.get(function, DEFAULT_CLIENTS)),
            "samples_ms": [round(s, 1) for s in wall[function]],
            "imports_ms": _import_breakdown(function, environments[function]),
        }
    spread = _spread(wall[BASELINE])
    return {
        "rounds": rounds,
        "goal_ratio": GOAL_RATIO,
        "baseline_ms": round(baseline, 1),
        "baseline_cpu_ms": round(statistics.median(cpu[BASELINE]), 1),
        "baseline_spread": round(spread, 2),
        "noisy": spread > NOISY_SPREAD,
        "baseline_samples_ms": [round(s, 1) for s in wall[BASELINE]],
        "functions": functions,
        "packages": package_sizes(list(environments)),
        "python": sys.version.split()[0],
    }
