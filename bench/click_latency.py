"""Figure 2: the click handler in process vs. one bare UpdateItem of a click shard, against the same
moto server endpoint, interleaved in one run (goal: handler <= 1.25x bare, at p50 and p99)."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from typing import Any

from bench.common import fake_aws, moto_server, ms, p50, p99

WARMUP = 100
ITERATIONS = 1000
GOAL_RATIO = 1.25


def run(iterations: int = ITERATIONS) -> dict[str, Any]:
    import boto3

    import track_click
    from referral_engine import wiring
    from referral_engine.adapters.dynamodb.clicks import shard_update
    from referrals_local.template import load_template, table_create_kwargs
    from support import journey
    from support.aws import API_KEY, TABLE
    from support.events import LambdaContext, http_event

    # The handler prints its EMF `Clicks` line, as on Lambda: the write is measured, not shown.
    with (
        moto_server() as endpoint,
        fake_aws(AWS_ENDPOINT_URL=endpoint, TABLE_NAME=TABLE),
        open(os.devnull, "w") as emf_sink,
    ):
        boto3.client("dynamodb").create_table(**table_create_kwargs(load_template(), table_name=TABLE))
        wiring.api_keys().create("bench", API_KEY)
        code = journey.enrol(journey.create_campaign()["id"])["code"]

        event = http_event("track_click/get_referral_link", path=f"/r/{code}", path_parameters={"code": code})
        context = LambdaContext("track_click")
        bare_client = boto3.client("dynamodb")
        # The very request a warm container's click makes (adapters/dynamodb/clicks.py: the landing URL
        # is known, the count goes to a shard), with a fixed timestamp.
        request = shard_update(TABLE, code, 0, "2026-11-23T20:00:00+00:00")

        def handler() -> None:
            with contextlib.redirect_stdout(emf_sink):
                redirected = track_click.handler(event, context)
            if redirected["statusCode"] != 302:
                raise RuntimeError("the click handler did not redirect")

        def bare() -> None:
            bare_client.update_item(**request)

        timings: dict[str, list[float]] = {"handler": [], "bare": []}
        for i in range(WARMUP + iterations):
            # Alternate which goes first, so neither always follows the other's connection reuse.
            pair: list[tuple[str, Callable[[], None]]] = [("handler", handler), ("bare", bare)]
            for name, call in pair if i % 2 else reversed(pair):
                started = time.perf_counter()
                call()
                if i >= WARMUP:
                    timings[name].append(time.perf_counter() - started)

    result: dict[str, Any] = {"iterations": iterations, "warmup": WARMUP, "goal_ratio": GOAL_RATIO}
    for label, stat in (("p50", p50), ("p99", p99)):
        handler_s, bare_s = stat(timings["handler"]), stat(timings["bare"])
        result[label] = {
            "handler_ms": ms(handler_s),
            "bare_ms": ms(bare_s),
            "ratio": round(handler_s / bare_s, 3),
        }
    return result
