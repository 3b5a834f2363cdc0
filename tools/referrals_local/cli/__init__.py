"""`referrals`, the admin CLI: campaigns, advocates, referrals, API keys, the failure queues and the
exceptions queue, on the local stack by default or on AWS with `--profile`/`--region`.

`referrals run ...` starts the local stack and `referrals demo` tours it. Heavy imports (boto3,
pydantic, the stack runner) happen only inside the command that needs them.
"""

from __future__ import annotations

import sys
from typing import IO


def _run_stack(argv: list[str], err: IO[str]) -> int:
    try:
        from referrals_local.stack import serve
    except ImportError as error:
        print(f"referrals: error: the local stack runner is not available ({error})", file=err)
        return 2
    code: int = serve(argv)
    return code


def main(argv: list[str] | None = None) -> int:
    """Runs one command; returns the exit status (0 ok, 1 failed, 2 usage error or no stack)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["run"]:
        return _run_stack(args_list[1:], sys.stderr)

    from referrals_local.cli.parser import build_parser

    try:
        args = build_parser().parse_args(args_list)
    except SystemExit as exit_:  # --help (0) or a usage error (2), already printed by argparse
        return exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 2)
    if args.handler == "run":
        return _run_stack(args.args, sys.stderr)

    from referrals_local.cli import review_commands  # noqa: F401  (registers the `reviews` commands)
    from referrals_local.cli.commands import run_command

    return run_command(args, out=sys.stdout, err=sys.stderr)
