"""`referrals run` / `make run`: the whole system on this machine, no Docker, no AWS account.

moto serves DynamoDB (with its stream), SQS and EventBridge on one endpoint; the runner creates the
template's resources there, runs each function as Lambda does (awslambdaric + a local Runtime API),
serves the HTTP API from the template's routes, and drives the template's triggers.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType

from referrals_local.outputs import STATE_DIR


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="referrals run", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.add_argument("--api-port", type=int, default=3000, help="HTTP API port (default: %(default)s)")
    parser.add_argument("--aws-port", type=int, default=4566, help="AWS endpoint port (default: %(default)s)")
    parser.add_argument(
        "--state-dir", type=Path, default=Path(os.environ.get("REFERRALS_STATE_DIR", STATE_DIR))
    )
    parser.add_argument("--stack-name", default="referral-engine")
    parser.add_argument(
        "--reset",
        action="store_true",
        help="start clean: forget the data and API keys kept in the state directory from the last run",
    )
    parser.add_argument(
        "--snapshot-interval",
        type=float,
        default=1.0,
        help="seconds between snapshots of the local AWS state (default: %(default)s)",
    )
    parser.add_argument(
        "--async-retry-delay", type=float, default=1.0, help="seconds before an async retry (Lambda: minutes)"
    )
    parser.add_argument(
        "--stream-retry-delay",
        type=float,
        default=0.2,
        help="first backoff of a failed stream batch (doubles)",
    )
    parser.add_argument(
        "--chaos",
        default="",
        metavar="SPEC",
        help="inject faults into the AWS endpoint, e.g. 'dynamodb:UpdateItem=throttle@0.2,"
        "*=latency:200ms@0.3' (the grammar: docs/adr/0016-chaos-mode.md)",
    )
    parser.add_argument(
        "--chaos-seed",
        type=int,
        default=int(os.environ.get("CHAOS_SEED") or 0),
        help="the seed of the faults' draws: the same seed, the same faults (default: $CHAOS_SEED or 0)",
    )
    parser.add_argument(
        "--schedule-every",
        type=float,
        default=float(os.environ.get("REFERRALS_SCHEDULE_EVERY") or 0),
        metavar="SECONDS",
        help="run every schedule (the hold period's releases) at least this often; 0: as the template "
        "says (default: $REFERRALS_SCHEDULE_EVERY or 0)",
    )
    return parser


def serve(argv: list[str] | None = None) -> int:
    from referrals_local.stack.chaos import ChaosSpecError, parse_spec
    from referrals_local.stack.supervisor import LocalStack, Options, StartFailed

    parser = _parser()
    args = parser.parse_args(argv)
    try:
        chaos_rules = parse_spec(args.chaos)
    except ChaosSpecError as error:
        parser.error(f"--chaos: {error}")
    options = Options(
        host=args.host,
        api_port=args.api_port,
        aws_port=args.aws_port,
        state_dir=args.state_dir,
        stack_name=args.stack_name,
        api_key=os.environ.get("REFERRALS_API_KEY") or None,
        admin_api_key=os.environ.get("REFERRALS_ADMIN_KEY") or None,
        reset=args.reset,
        snapshot_interval=args.snapshot_interval,
        async_retry_delays=(args.async_retry_delay, 2 * args.async_retry_delay),
        stream_retry_delay=args.stream_retry_delay,
        chaos=args.chaos,
        chaos_seed=args.chaos_seed,
        schedule_every=args.schedule_every,
    )
    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    started = time.monotonic()
    stack = LocalStack(options, out=lambda line: print(line, flush=True))
    try:
        outputs = stack.start()
    except StartFailed as error:  # e.g. a port in use: one line, no traceback
        stack.stop()
        print(f"referrals run: error: {error}", file=sys.stderr, flush=True)
        return 1
    except BaseException:
        stack.stop()
        raise
    try:
        print(
            f"\nreferral-engine is running locally (started in {time.monotonic() - started:.1f} s)\n"
            f"  HTTP API      {outputs.api_url}    (GET /r/{{code}}, /v1/..., /hooks/generic/{{hook_id}})\n"
            f"  AWS endpoint  {outputs.endpoint_url}    (moto: DynamoDB + stream, SQS, EventBridge)\n"
            f"  API key       {outputs.api_key}    (server: /v1/...)\n"
            f"  admin key     {outputs.admin_api_key}    (/v1/admin/...)\n"
            f"  state, logs   {options.state_dir}    (kept across restarts; make run RESET=1 starts clean)\n"
            + (
                f"  chaos         {', '.join(map(str, chaos_rules))}    (seed {args.chaos_seed})\n"
                if chaos_rules
                else ""
            )
            + "Try `make demo` in another terminal. Ctrl-C stops everything.\n",
            flush=True,
        )
        stopping.wait()
    finally:
        print("stopping…", flush=True)
        stack.stop()
    return 0
