"""`referrals reviews list | show | approve | reject`: the review queue (docs/adr/0019)."""

from __future__ import annotations

import argparse
from typing import Any

from referrals_local.cli.commands import Context, Usage, command
from referrals_local.cli.output import age, to_json, when

MAX_BULK = 25  # domain/reviews.MAX_BULK: the bulk route's bound


def _reasons(item: dict[str, Any]) -> str:
    return ", ".join(item["reasons"])


@command("reviews_list")
def reviews_list(context: Context, args: argparse.Namespace) -> int:
    query = {
        "campaign_id": args.campaign,
        "kind": args.kind,
        "reason": args.reason,
        "older_than": args.older_than,
        "limit": args.limit,
        "cursor": args.cursor,
    }
    page = context.admin.reviews(query)
    out = context.out
    if out.json_mode:
        out.json(page)
        return 0
    items = page["items"]
    if items:
        out.table(
            ["id", "kind", "age", "campaign", "referral", "reasons"],
            [
                (i["id"], i["kind"], age(i["age_seconds"]), i["campaign_id"], i["referral_id"], _reasons(i))
                for i in items
            ],
        )
    else:
        out.line("No open review items." if not any(query.values()) else "No open review items match.")
    if page["next_cursor"]:
        out.line(f"\nmore: referrals reviews list --cursor {page['next_cursor']}")
    return 0


@command("reviews_show")
def reviews_show(context: Context, args: argparse.Namespace) -> int:
    shown = context.admin.review(args.review_id)
    out = context.out
    if out.json_mode:
        out.json(shown)
        return 0
    review, referral, advocate = shown["review"], shown["referral"], shown["advocate"]
    out.line(f"Review {review['id']}  {review['kind']}  {review['status']}")
    out.fields(
        [
            ("reasons", _reasons(review)),
            ("opened", f"{when(review['opened_at'])} ({age(review['age_seconds'])} ago)"),
            (
                "decided",
                f"{when(review['decided_at'])} by {review['decided_by']}: {review['decision_reason']}",
            )
            if review["decided_at"]
            else ("decided", "-"),
            ("referral", f"{referral['id']}  {referral['status']}"),
            ("referred", referral["referred_email"]),
            ("campaign", referral["campaign_id"]),
            ("held signal", _signal(shown["held_signal"])),
        ]
    )
    evidence = shown["evidence"]
    out.line("\nEvidence")
    for finding in evidence["findings"] if evidence else []:
        out.line(f"  {finding['reason']} ({finding['action']}): {to_json(finding['seen'], one_line=True)}")
    if not evidence:
        out.line("  none recorded")
    out.line(f"\nAdvocate {advocate['code']}  {advocate['email'] or ''}")
    out.fields(
        [
            ("clicks", advocate["clicks"]),
            ("referrals", advocate["referrals"]),
            ("rewards", advocate["rewards"]),
            ("balance", advocate["credit_balance"]),
        ]
    )
    if advocate["recent_referrals"]:
        out.table(
            ["recent referral", "status", "joined"],
            [(r["id"], r["status"], when(r["joined_at"])) for r in advocate["recent_referrals"]],
            indent=2,
        )
    out.line("\nRewards")
    for reward in shown["rewards"]:
        out.line(f"  {reward['recipient']}  {reward['amount']} {reward['currency']}  {reward['status']}")
    if not shown["rewards"]:
        out.line("  none")
    out.line("\nAudit trail")
    out.table(
        ["at", "action", "actor"],
        [(when(entry["at"]), entry["action"], entry["actor"]) for entry in shown["audit"]],
        indent=2,
    )
    return 0


def _decision(review: dict[str, Any]) -> str:
    if not review["decided_at"]:
        return "-"
    return f"{when(review['decided_at'])} by {review['decided_by']}: {review['decision_reason']}"


def _signal(signal: dict[str, Any] | None) -> str:
    if signal is None:
        return "-"
    amount = f" {signal['amount']} {signal['currency']}" if signal.get("amount") else ""
    return f"{signal['source']}:{signal['event_id']}{amount} (replayed when approved)"


def _decide(context: Context, args: argparse.Namespace, decision: str) -> int:
    if len(args.review_ids) > MAX_BULK:
        raise Usage(f"at most {MAX_BULK} review items at once")
    results = context.admin.decide(args.review_ids, decision, args.reason)
    out = context.out
    if out.json_mode:
        out.json({"results": results})
    else:
        for result in results:
            if result["status"] == 200:
                review = result["review"]
                out.line(f"{review['status']} {review['id']} (referral {review['referral_id']})")
    failed = [result for result in results if result["status"] != 200]
    for result in failed:
        error = result["error"]
        print(
            f"referrals: error: {result['review_id']}: {error['code']}: {error['message']}", file=context.err
        )
    return 1 if failed else 0


@command("reviews_approve")
def reviews_approve(context: Context, args: argparse.Namespace) -> int:
    return _decide(context, args, "approve")


@command("reviews_reject")
def reviews_reject(context: Context, args: argparse.Namespace) -> int:
    return _decide(context, args, "reject")
