"""The commands of `referrals`: each reads its arguments, calls one admin or domain use case, prints."""

from __future__ import annotations

import argparse
import dataclasses
import io
import os
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import IO, Any

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from referral_engine.domain.errors import DomainError, NotFound
from referral_engine.domain.models import AuditEntry, Campaign, ReferralStatus
from referral_engine.domain.records import json_values
from referral_engine.domain.stripped_text import FieldRefused
from referral_engine.ports import StreamRecordsGone
from referral_engine.services.admin_messages import DLQS, EXCEPTIONS, QueueName
from referral_engine.services.campaigns import NewAdvocate, NewCampaign
from referral_engine.web.views import campaign_view, history_view, participant_view, referral_view, share_url
from referral_engine.wiring import Services
from referrals_local.cli.admin_client import AdminClient, HttpAdmin, LocalAdmin
from referrals_local.cli.output import Printer, age, to_json, when
from referrals_local.cli.stack import LOCAL_OPERATOR, Target, aws_target, local_target
from referrals_local.outputs import STATE_DIR, StackNotFound, StackOutputs

Handler = Callable[["Context", argparse.Namespace], int]
HANDLERS: dict[str, Handler] = {}


class Usage(Exception):
    """The command cannot run as given (exit 2)."""


def command(name: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        HANDLERS[name] = handler
        return handler

    return register


class Context:
    def __init__(self, args: argparse.Namespace, out: IO[str], err: IO[str]) -> None:
        self.args = args
        self.out = Printer(out, json_mode=args.json)
        self.err = err

    @property
    def on_aws(self) -> bool:
        return bool(self.args.profile or self.args.region)

    @property
    def state_dir(self) -> Path:
        configured = self.args.state_dir or os.environ.get("REFERRALS_STATE_DIR")
        return Path(configured) if configured else STATE_DIR

    @cached_property
    def target(self) -> Target:
        if self.on_aws:
            return aws_target(profile=self.args.profile, region=self.args.region, stack=self.args.stack)
        return local_target(self.state_dir)

    @cached_property
    def outputs(self) -> StackOutputs:
        """The stack's outputs; for the local stack without touching boto3."""
        return self.target.outputs if self.on_aws else StackOutputs.read_local(self.state_dir)

    @cached_property
    def engine(self) -> Services:
        """The product's services over the stack (its composition root)."""
        return self.target.services

    @cached_property
    def admin(self) -> AdminClient:
        """In-process on the local stack; `/v1/admin` signed with the operator's credentials on AWS."""
        target = self.target
        if target.local:
            return LocalAdmin(target.services, LOCAL_OPERATOR)
        credentials = target.session.get_credentials()
        if credentials is None:
            raise StackNotFound("no AWS credentials: pass --profile (or configure the default ones)")
        return HttpAdmin(target.outputs.api_url, credentials.get_frozen_credentials(), target.outputs.region)

    @property
    def base(self) -> str:
        return self.outputs.api_url.rstrip("/")


def _fail(err: IO[str], message: str, status: int) -> int:
    print(f"referrals: error: {message}", file=err)
    return status


def _validation_message(error: ValidationError) -> str:
    problems = [
        f"{'.'.join(str(part) for part in problem['loc']) or 'input'}: {problem['msg']}"
        for problem in error.errors()
    ]
    return "invalid input: " + "; ".join(problems)


def run_command(args: argparse.Namespace, *, out: IO[str], err: IO[str]) -> int:
    context = Context(args, out, err)
    try:
        return HANDLERS[args.handler](context, args)
    except NotFound as error:
        return _fail(err, f"not found: {error.message}", 1)
    except DomainError as error:
        return _fail(err, f"{error.code}: {error.message}", 1)
    except ValidationError as error:
        return _fail(err, _validation_message(error), 1)
    except FieldRefused as error:  # a record's own rule (an API key's blank name)
        return _fail(err, f"invalid input: {error.field}: {error}", 1)
    except StreamRecordsGone as error:
        return _fail(err, str(error), 1)
    except StackNotFound as error:
        return _fail(err, str(error), 2)
    except Usage as error:
        return _fail(err, str(error), 2)
    except ClientError as error:
        details = error.response.get("Error", {})
        return _fail(err, f"AWS refused: {details.get('Code')}: {details.get('Message')}", 1)
    except BotoCoreError as error:  # unreachable endpoint, credentials, timeouts
        if context.on_aws:
            return _fail(err, f"cannot talk to AWS: {error}", 2)
        where = context.outputs.endpoint_url or "its endpoint"
        return _fail(
            err,
            f"cannot reach the local stack at {where} ({error}): is it running? start it with `make run`",
            2,
        )


# ------------------------------------------------------------------------------------ campaigns
def _reward_text(campaign: Campaign) -> str:
    reward = campaign.reward
    text = f"{reward.amount} {reward.currency} to the advocate"
    if reward.friend_amount is not None:
        text += f", {reward.friend_amount} {reward.currency} to the friend"
    if reward.hold_days:
        text += f", held {reward.hold_days} days"
    return text


def _milestone_text(campaign: Campaign) -> str:
    milestone = campaign.milestone
    parts = []
    if milestone.min_amount is not None:
        parts.append(f"at least {milestone.min_amount} {milestone.currency}")
    elif milestone.currency is not None:
        parts.append(f"paid in {milestone.currency}")
    if milestone.within_days is not None:
        parts.append(f"within {milestone.within_days} days of signup")
    return ", ".join(parts) or "any qualifying signal"


def _print_campaign(context: Context, campaign: Campaign, title: str) -> None:
    out = context.out
    if out.json_mode:
        out.json(campaign_view(campaign, context.base))
        return
    out.line(f"{title} {campaign.id}  {campaign.name!r}")
    out.fields(
        [
            ("landing URL", campaign.landing_url),
            ("reward", _reward_text(campaign)),
            ("milestone", _milestone_text(campaign)),
            ("status", campaign.status),
            ("created", when(campaign.created_at)),
            ("hook URL", campaign_view(campaign, context.base)["hook_url"]),
        ]
    )


@command("campaigns_create")
def campaigns_create(context: Context, args: argparse.Namespace) -> int:
    reward: dict[str, Any] = {"amount": args.amount, "currency": args.currency.upper()}
    if args.friend_amount is not None:
        reward["friend_amount"] = args.friend_amount
    if args.hold_days is not None:
        reward["hold_days"] = args.hold_days
    milestone: dict[str, Any] = {}
    if args.min_amount is not None:
        milestone["min_amount"] = args.min_amount
        milestone["currency"] = (args.milestone_currency or args.currency).upper()
    elif args.milestone_currency is not None:
        milestone["currency"] = args.milestone_currency.upper()
    if args.within_days is not None:
        milestone["within_days"] = args.within_days
    request = NewCampaign.model_validate(
        {"name": args.name, "landing_url": args.landing_url, "reward": reward, "milestone": milestone}
    )
    campaign = context.engine.campaigns.create(request)
    _print_campaign(context, campaign, "Created campaign")
    return 0


@command("campaigns_list")
def campaigns_list(context: Context, args: argparse.Namespace) -> int:
    page = context.engine.campaigns.recent(limit=args.limit, cursor=args.cursor)
    out = context.out
    if out.json_mode:
        out.json(
            {"items": [campaign_view(c, context.base) for c in page.items], "next_cursor": page.next_cursor}
        )
        return 0
    if not page.items:
        out.line("No campaigns yet: create one with `referrals campaigns create --help`.")
        return 0
    out.table(
        ["id", "name", "reward", "milestone", "status", "created"],
        [
            (c.id, c.name, _reward_text(c), _milestone_text(c), c.status, when(c.created_at))
            for c in page.items
        ],
    )
    if page.next_cursor:
        out.line(f"\nmore: referrals campaigns list --cursor {page.next_cursor}")
    return 0


@command("campaigns_show")
def campaigns_show(context: Context, args: argparse.Namespace) -> int:
    _print_campaign(context, context.engine.campaigns.get(args.campaign_id), "Campaign")
    return 0


# ------------------------------------------------------------------------------------ advocates
@command("advocates_enrol")
def advocates_enrol(context: Context, args: argparse.Namespace) -> int:
    request = NewAdvocate.model_validate({"email": args.email, "name": args.name})
    participant, created = context.engine.campaigns.enrol_advocate(args.campaign_id, request)
    out = context.out
    link = share_url(context.base, participant.code)
    if out.json_mode:
        out.json({**participant_view(participant, context.base), "created": created})
        return 0
    title = "Enrolled" if created else "Already enrolled (same code as before):"
    out.line(f"{title} {participant.email} in {participant.campaign_id}")
    out.fields([("code", participant.code), ("share link", link)])
    return 0


@command("advocates_show")
def advocates_show(context: Context, args: argparse.Namespace) -> int:
    participant, campaign = context.engine.campaigns.participant(args.code)
    currency = campaign.reward.currency if campaign else ""
    out = context.out
    if out.json_mode:
        out.json(
            {
                **participant_view(participant, context.base),
                "rewards": participant.rewards,
                "referral_id": participant.referral_id,
                "currency": currency or None,
            }
        )
        return 0
    role = f"referred friend (referral {participant.referral_id})" if participant.referral_id else "advocate"
    out.line(f"Code {participant.code}  {role}")
    out.fields(
        [
            ("email", participant.email),
            ("name", participant.name),
            (
                "campaign",
                f"{participant.campaign_id}  {campaign.name!r}" if campaign else participant.campaign_id,
            ),
            ("share link", share_url(context.base, participant.code)),
            ("joined", when(participant.created_at)),
            ("clicks", participant.clicks),
            ("repeat clicks", participant.repeat_clicks),
            ("referrals", participant.referrals),
            ("rewards", participant.rewards),
            ("credit balance", f"{participant.credit_balance} {currency}".strip()),
        ]
    )
    return 0


# ------------------------------------------------------------------------------------ referrals
@command("referrals_list")
def referrals_list(context: Context, args: argparse.Namespace) -> int:
    page = context.engine.referrals.list(
        args.campaign_id,
        status=ReferralStatus(args.status) if args.status else None,
        sort=args.sort,
        descending=args.order == "desc",
        limit=args.limit,
        cursor=args.cursor,
    )
    out = context.out
    if out.json_mode:
        out.json(
            {"items": [referral_view(r, context.base) for r in page.items], "next_cursor": page.next_cursor}
        )
        return 0
    if page.items:
        out.table(
            ["id", "status", "referred", "advocate", "joined", "qualified"],
            [
                (
                    r.id,
                    r.status.value,
                    r.referred_email,
                    r.advocate_code,
                    when(r.joined_at),
                    when(r.qualified_at),
                )
                for r in page.items
            ],
        )
    else:
        out.line("No referrals on this page." if args.cursor or args.status else "No referrals yet.")
    if page.next_cursor:
        out.line(f"\nmore: referrals referrals list {args.campaign_id} --cursor {page.next_cursor}")
    return 0


def _audit_detail(entry: AuditEntry) -> str:
    def text(value: Any) -> str:
        return "; ".join(map(str, value)) if isinstance(value, list) else str(value)

    return ", ".join(f"{name}={text(value)}" for name, value in entry.detail.items())


@command("referrals_show")
def referrals_show(context: Context, args: argparse.Namespace) -> int:
    history = context.engine.referrals.history(args.referral_id)
    referral = history.referral
    out = context.out
    if out.json_mode:
        out.json(
            {
                **history_view(history, context.base),
                "qualified_by": referral.qualified_by,
                "audit": [json_values(entry, exclude={"referral_id"}) for entry in history.audit],
            }
        )
        return 0
    out.line(f"Referral {referral.id}  {referral.status.value}")
    referred = referral.referred_email + (f" ({referral.referred_name})" if referral.referred_name else "")
    out.fields(
        [
            ("campaign", referral.campaign_id),
            ("advocate", referral.advocate_code),
            ("referred", referred),
            ("their code", referral.referred_code),
            ("external ids", ", ".join(f"{k}={v}" for k, v in referral.external_ids.items())),
            ("joined", when(referral.joined_at)),
            ("qualified", when(referral.qualified_at)),
            ("qualified by", referral.qualified_by),
            ("rewarded", when(referral.rewarded_at)),
        ]
    )
    out.line("\nRewards")
    if history.rewards:
        out.table(
            ["recipient", "code", "amount", "status", "created"],
            [
                (
                    r.recipient,
                    r.recipient_code,
                    f"{r.amount} {r.currency}",
                    r.status.value,
                    when(r.created_at),
                )
                for r in history.rewards
            ],
            indent=2,
        )
    else:
        out.line("  none yet")
    out.line("\nAudit trail")
    out.table(
        ["at", "action", "actor", "status", "detail"],
        [
            (
                when(entry.at),
                entry.action,
                entry.actor,
                " → ".join(s.value for s in (entry.from_status, entry.to_status) if s is not None),
                _audit_detail(entry),
            )
            for entry in history.audit
        ],
        indent=2,
    )
    return 0


# ------------------------------------------------------------------------------------ API keys
@command("api_keys_create")
def api_keys_create(context: Context, args: argparse.Namespace) -> int:
    created = context.admin.create_key(args.name, args.scope)
    api_key = created["api_key"]
    out = context.out
    if out.json_mode:
        out.json(created)
        return 0
    out.line(f"API key {args.name!r} created. It is shown only this once (only its SHA-256 hash is stored):")
    out.line(f"\n  {api_key}\n")
    out.line(f"Send it as the header   Authorization: Bearer {api_key}")
    out.line(f"Scope {created['scope']}; revoke it with `referrals api-keys revoke {created['id']}`.")
    return 0


@command("api_keys_list")
def api_keys_list(context: Context, args: argparse.Namespace) -> int:
    keys = context.admin.keys()
    out = context.out
    if out.json_mode:
        out.json({"items": keys})
        return 0
    if not keys:
        out.line("No API keys listed yet: create one with `referrals api-keys create --help`.")
        return 0
    out.table(
        ["id", "name", "scope", "created", "revoked"],
        [(k["id"], k["name"], k["scope"], when(k["created_at"]), when(k["revoked_at"])) for k in keys],
    )
    return 0


@command("api_keys_revoke")
def api_keys_revoke(context: Context, args: argparse.Namespace) -> int:
    revoked = context.admin.revoke_key(args.key_id)
    out = context.out
    if out.json_mode:
        out.json(revoked)
        return 0
    out.line(f"API key {revoked['id']} ({revoked['name']!r}) revoked at {when(revoked['revoked_at'])}.")
    out.line("Every call with it is refused within a few seconds.")
    return 0


# ------------------------------------------------------------------------------------ queues
def _list(context: Context, names: tuple[QueueName, ...]) -> int:
    listed = {name: context.admin.messages(name) for name in names}
    out = context.out
    if out.json_mode:
        out.json({"messages": [message for name in names for message in listed[name]]})
        return 0
    for index, name in enumerate(names):
        messages = listed[name]
        if index:
            out.line()
        count = f"{len(messages)} message{'s' if len(messages) != 1 else ''}" if messages else "empty"
        out.line(f"{name}: {count}")
        for message in messages:
            out.line(f"  {message['message_id']}  age {age(message['age_seconds'])}")
            out.fields(
                [
                    ("reason", message["reason"]),
                    ("about", message["subject"]),
                    ("payload", to_json(message["payload"], one_line=True)),
                ],
                indent=4,
            )
    return 0


def _print_results(context: Context, results: list[dict[str, Any]], verb: str, done: str) -> int:
    out = context.out
    failed = [r for r in results if not r["ok"]]
    if out.json_mode:
        out.json({"results": results})
    else:
        if not results:
            out.line(f"Nothing to {verb}: the queue is empty.")
        for r in results:
            verdict = f"{done} {r['message_id']}" if r["ok"] else f"FAILED {r['message_id']}"
            out.line(f"{verdict}: {r['detail']}")
    for r in failed:
        print(
            f"referrals: error: {r['queue']} {r['message_id']}: {r['detail']}"
            " (the message stays in the queue)",
            file=context.err,
        )
    return 1 if failed else 0


def _redrive(context: Context, name: QueueName, args: argparse.Namespace) -> int:
    results = context.admin.redrive(name, None if args.all else args.message_id, args.reason)
    return _print_results(context, results, "redrive", "redriven")


def _discard(context: Context, name: QueueName, args: argparse.Namespace) -> int:
    result = context.admin.discard(name, args.message_id, args.reason)
    return _print_results(context, [result], "discard", "discarded")


@command("dlq_list")
def dlq_list(context: Context, args: argparse.Namespace) -> int:
    return _list(context, (args.queue,) if args.queue else DLQS)


@command("dlq_redrive")
def dlq_redrive(context: Context, args: argparse.Namespace) -> int:
    return _redrive(context, args.queue, args)


@command("dlq_discard")
def dlq_discard(context: Context, args: argparse.Namespace) -> int:
    return _discard(context, args.queue, args)


@command("exceptions_list")
def exceptions_list(context: Context, args: argparse.Namespace) -> int:
    return _list(context, (EXCEPTIONS,))


@command("exceptions_redrive")
def exceptions_redrive(context: Context, args: argparse.Namespace) -> int:
    return _redrive(context, EXCEPTIONS, args)


@command("exceptions_discard")
def exceptions_discard(context: Context, args: argparse.Namespace) -> int:
    return _discard(context, EXCEPTIONS, args)


# ------------------------------------------------------------------------------------ demo
@command("demo")
def demo(context: Context, args: argparse.Namespace) -> int:
    from referrals_local.demo import DemoFailed, StackUnreachable, run_demo

    outputs = context.outputs
    api_key = args.api_key or outputs.api_key or os.environ.get("REFERRALS_API_KEY")
    if not api_key:
        raise Usage(
            "the demo needs a server API key: pass --api-key (create one with `referrals api-keys create`)"
        )
    narration = io.StringIO() if context.out.json_mode else context.out.out
    try:
        result = run_demo(outputs, out=narration, api_key=api_key, timeout=args.timeout)
    except StackUnreachable as error:
        return _fail(context.err, str(error), 2)
    except DemoFailed as error:
        return _fail(context.err, str(error), 1)
    if context.out.json_mode:
        context.out.json(dataclasses.asdict(result))
    return 0
