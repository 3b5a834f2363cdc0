"""The command line of `referrals`. Deliberately free of boto3 and pydantic: `--help` stays instant."""

from __future__ import annotations

import argparse
from typing import Any

STATUSES = ("pending", "qualified", "rewarded", "in_review", "rejected", "reversed")  # ReferralStatus
SCOPES = ("server", "admin", "publishable")  # ports.ApiKeyScope
# services.admin_messages.DLQS, repeated here to keep boto3 and pydantic out of `--help`
DLQ_NAMES = (
    "qualify-failure",
    "reward-events",
    "issue-reward-failure",
    "hook-events",
    "announce-referrals-failure",
    "deliver-events-failure",
)

DESCRIPTION = """\
Admin CLI of the referral engine. It talks to the local stack (`make run`) by default, and to a
stack deployed on AWS with --profile and/or --region (your IAM credentials are the admin login)."""

EPILOG = """\
examples:
  referrals campaigns create --name "Give 20, get 10" --landing-url https://shop.example.com/ \\
      --amount 20.00 --currency USD --friend-amount 10.00
  referrals advocates enrol CAMPAIGN_ID --email ada@example.com
  referrals referrals list CAMPAIGN_ID --status qualified --sort qualified_at
  referrals reviews list --older-than 48h
  referrals reviews approve rev_01... --reason "a colleague, checked with the customer"
  referrals dlq list
  referrals exceptions redrive --all
  referrals --profile prod --region eu-west-1 campaigns list --json

exit status: 0 success, 1 failure (e.g. an unknown id: "not found"), 2 usage error or no stack to
talk to."""


def _global_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """The global flags, accepted before and after the command (`suppress`: don't override the
    values given before it with defaults)."""

    def default(value: Any) -> Any:
        return argparse.SUPPRESS if suppress else value

    group = parser.add_argument_group("global options")
    group.add_argument("--json", action="store_true", default=default(False), help="machine-readable output")
    group.add_argument("--profile", default=default(None), help="AWS profile: work on a deployed stack")
    group.add_argument("--region", default=default(None), help="AWS region: work on a deployed stack")
    group.add_argument(
        "--stack",
        default=default("referral-engine"),
        help="CloudFormation stack name (default: referral-engine)",
    )
    group.add_argument(
        "--state-dir",
        default=default(None),
        help="the local stack's state directory (default: $REFERRALS_STATE_DIR or .referrals-local)",
    )


class _Builder:
    def __init__(self, root: argparse.ArgumentParser) -> None:
        self.groups = root.add_subparsers(title="commands", dest="group", metavar="COMMAND", required=True)

    def group(self, name: str, help_text: str) -> Any:
        parser = self.groups.add_parser(name, help=help_text, description=help_text)
        _global_options(parser, suppress=True)
        return parser.add_subparsers(title="commands", dest="action", metavar="ACTION", required=True)

    @staticmethod
    def leaf(
        subparsers: Any, name: str, handler: str, help_text: str, **kwargs: Any
    ) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = subparsers.add_parser(
            name, help=help_text, description=help_text, **kwargs
        )
        parser.set_defaults(handler=handler)
        _global_options(parser, suppress=True)
        return parser


def _queue_commands(builder: _Builder, name: str, help_text: str, *, fixed_queue: bool) -> None:
    actions = builder.group(name, help_text)
    what = "the exceptions queue" if fixed_queue else "the failure queues"
    listing = builder.leaf(
        actions, "list", f"{name}_list", f"list the messages of {what}, with reason and payload"
    )
    if not fixed_queue:
        listing.add_argument("queue", nargs="?", choices=DLQ_NAMES, help="one queue (default: all of them)")

    redrive = builder.leaf(
        actions, "redrive", f"{name}_redrive", "process a message again (one by id, or --all); safe to repeat"
    )
    if not fixed_queue:
        redrive.add_argument("queue", choices=DLQ_NAMES)
    which = redrive.add_mutually_exclusive_group(required=True)
    which.add_argument("message_id", nargs="?", help="the MessageId shown by list")
    which.add_argument("--all", action="store_true", help="every message in the queue")
    redrive.add_argument("--reason", help="why (kept in the admin log)")

    discard = builder.leaf(
        actions,
        "discard",
        f"{name}_discard",
        "remove a message for good, recording who and why in the admin log",
    )
    if not fixed_queue:
        discard.add_argument("queue", choices=DLQ_NAMES)
    discard.add_argument("message_id", help="the MessageId shown by list")
    discard.add_argument("--reason", required=True, help="why it is discarded (kept in the admin log)")


def _reward_arguments(create: argparse.ArgumentParser) -> None:
    create.add_argument("--amount", required=True, help="the advocate's reward, e.g. 20.00")
    create.add_argument("--currency", required=True, help="ISO 4217, e.g. USD")
    create.add_argument("--friend-amount", help="the referred friend's reward (double-sided campaign)")
    create.add_argument("--hold-days", help="days each reward stays pending before it is credited, e.g. 30")


def _age(text: str) -> int:
    """`90` (seconds), `30m`, `48h` or `3d` as seconds."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    number, unit = (text[:-1], text[-1]) if text[-1:] in units else (text, "s")
    if not number.isdigit():
        raise argparse.ArgumentTypeError(f"not an age: {text!r} (e.g. 90, 30m, 48h, 3d)")
    return int(number) * units[unit]


def _review_commands(builder: _Builder) -> None:
    actions = builder.group("reviews", "the review queue: referrals flagged by fraud checks, clawbacks")
    listing = builder.leaf(actions, "list", "reviews_list", "list the open review items, oldest first")
    listing.add_argument("--campaign", help="only this campaign's items")
    listing.add_argument("--kind", choices=("fraud", "clawback"))
    listing.add_argument("--reason", help="only items with this reason code, e.g. self_referral_email")
    listing.add_argument(
        "--older-than", type=_age, help="only items open longer than this (90, 30m, 48h, 3d)"
    )
    listing.add_argument("--limit", type=int, default=50, help="page size, 1..100 (default 50)")
    listing.add_argument("--cursor", help="the next page, as printed by the previous one")
    show = builder.leaf(
        actions, "show", "reviews_show", "show an item: the evidence, the referral, the advocate's history"
    )
    show.add_argument("review_id")
    for verb, effect in (
        (
            "approve",
            "a referral goes back to pending and its held payment qualifies it; a clawback is recorded",
        ),
        ("reject", "a referral is rejected for good; a clawback is waived"),
    ):
        decide = builder.leaf(actions, verb, f"reviews_{verb}", f"{verb} items: {effect}")
        decide.add_argument("review_ids", nargs="+", metavar="review_id", help="one or up to 25 items")
        decide.add_argument("--reason", required=True, help="why (kept in the referral's audit trail)")


def _queues(builder: _Builder) -> None:
    """What an admin works through: the review queue, the failure queues, the exceptions queue."""
    _review_commands(builder)
    _queue_commands(builder, "dlq", "the failure queues: " + ", ".join(DLQ_NAMES), fixed_queue=False)
    _queue_commands(builder, "exceptions", "signals qualify could not match or read", fixed_queue=True)


def build_parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="referrals",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _global_options(root, suppress=False)
    builder = _Builder(root)

    run = builder.groups.add_parser(
        "run",
        help="start the local stack (as `make run`); its own options follow, see `referrals run --help`",
    )
    run.add_argument("args", nargs=argparse.REMAINDER, help="the local stack's options")
    run.set_defaults(handler="run")
    demo = builder.leaf(builder.groups, "demo", "demo", "a narrated tour over HTTP: campaign to reward")
    demo.add_argument("--api-key", help="server API key (default: the local stack's, or $REFERRALS_API_KEY)")
    demo.add_argument(
        "--timeout", type=float, default=20.0, help="seconds to wait for the reward (default 20)"
    )

    campaigns = builder.group("campaigns", "create, list and show campaigns")
    create = builder.leaf(campaigns, "create", "campaigns_create", "create a campaign")
    create.add_argument("--name", required=True)
    create.add_argument("--landing-url", required=True, help="where referral links lead (http/https)")
    _reward_arguments(create)
    create.add_argument("--min-amount", help="milestone: the qualifying signal's minimum amount")
    create.add_argument(
        "--milestone-currency", help="milestone currency (default with --min-amount: --currency)"
    )
    create.add_argument(
        "--within-days", type=int, help="milestone: days after signup the signal must come within"
    )
    listing = builder.leaf(campaigns, "list", "campaigns_list", "list campaigns, newest first")
    listing.add_argument("--limit", type=int, default=50, help="page size, 1..100 (default 50)")
    listing.add_argument("--cursor", help="the next page, as printed by the previous one")
    show = builder.leaf(campaigns, "show", "campaigns_show", "show a campaign and its webhook URL")
    show.add_argument("campaign_id")

    advocates = builder.group("advocates", "enrol advocates and show their link and stats")
    enrol = builder.leaf(
        advocates, "enrol", "advocates_enrol", "enrol an advocate: their code and share link"
    )
    enrol.add_argument("campaign_id")
    enrol.add_argument("--email", required=True)
    enrol.add_argument("--name")
    show = builder.leaf(advocates, "show", "advocates_show", "show a code's link and stats")
    show.add_argument("code")

    referrals = builder.group("referrals", "list and show referrals")
    listing = builder.leaf(referrals, "list", "referrals_list", "list a campaign's referrals")
    listing.add_argument("campaign_id")
    listing.add_argument("--status", choices=STATUSES)
    listing.add_argument("--sort", choices=("joined_at", "qualified_at"), default="joined_at")
    listing.add_argument("--order", choices=("desc", "asc"), default="desc")
    listing.add_argument("--limit", type=int, default=50, help="page size, 1..100 (default 50)")
    listing.add_argument("--cursor", help="the next page, as printed by the previous one")
    show = builder.leaf(referrals, "show", "referrals_show", "show a referral, its rewards and audit trail")
    show.add_argument("referral_id")

    keys = builder.group(
        "api-keys", "API keys, each with a scope: server (/v1), admin (/v1/admin and /v1), publishable"
    )
    create = builder.leaf(
        keys, "create", "api_keys_create", "create a key: shown once, only its hash is stored"
    )
    create.add_argument("--name", default="created with the admin CLI", help="what the key is for")
    create.add_argument(
        "--scope",
        choices=SCOPES,
        default="server",
        help="server: the business routes (default); admin: /v1/admin too; publishable: for browsers",
    )
    builder.leaf(
        keys, "list", "api_keys_list", "list the keys: id, name, scope, created, revoked (never the key)"
    )
    revoke = builder.leaf(keys, "revoke", "api_keys_revoke", "revoke a key: refused within seconds")
    revoke.add_argument("key_id", help="the key's id (key_...), as `api-keys list` shows it")

    _queues(builder)
    return root
