"""`referrals exceptions list | redrive | discard`: signals qualify could not match, with their payload."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from support.events import json_body, sample
from support.journey import (
    create_campaign,
    enrol,
    generic_hook,
    get_referral,
    hook_id_of,
    run_qualify,
    sign_up,
)

if TYPE_CHECKING:
    from cli.conftest import Cli

UNMATCHED = "unmatched_signal: no referral in this campaign matches the signal"


def sample_body(name: str) -> str:
    return str(sample(f"dlq/{name}")["Records"][0]["body"])


def an_unmatched_signal(
    cli: Cli, email: str = "late@example.org", event_id: str = "order-1"
) -> dict[str, Any]:
    """A campaign with an advocate, and a webhook call for someone who has not signed up (yet)."""
    campaign = create_campaign()
    code = enrol(campaign["id"])["code"]
    assert generic_hook(hook_id_of(campaign), {"email": email, "event_id": event_id})["statusCode"] == 202
    assert run_qualify(cli.stack)["batchItemFailures"] == []
    return {"campaign": campaign, "code": code}


def listed(cli: Cli) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = cli.json("exceptions", "list")["messages"]
    return messages


def test_list_shows_reason_and_signal_and_consumes_nothing(cli: Cli) -> None:
    given = an_unmatched_signal(cli)

    first = listed(cli)
    text = cli.ok("exceptions", "list")
    second = listed(cli)

    [message] = first
    assert message["queue"] == "exceptions"
    assert message["reason"] == UNMATCHED
    assert message["payload"]["event_id"] == "order-1"
    assert message["payload"]["match"] == {"email": "late@example.org"}
    assert message["body"]["function"] == "qualify"
    assert [m["message_id"] for m in second] == [message["message_id"]]
    assert cli.visible("exceptions") == 1  # visible again at once, not after a timeout
    assert "exceptions: 1 message" in text
    assert f"  {message['message_id']}  age " in text
    assert f"reason   {UNMATCHED}" in text
    assert (
        f"about    signal generic:order-1 in {given['campaign']['id']} matching email=late@example.org"
        in text
    )


def test_an_empty_queue_lists_as_empty(cli: Cli) -> None:
    assert cli.ok("exceptions", "list").strip() == "exceptions: empty"
    assert listed(cli) == []


def test_redrive_after_the_person_signed_up_qualifies_the_referral_exactly_once(cli: Cli) -> None:
    given = an_unmatched_signal(cli)
    referral = sign_up(given["code"], "late@example.org")  # the signup arrives after the payment
    [message] = listed(cli)

    out = cli.ok("exceptions", "redrive", message["message_id"])
    result = run_qualify(cli.stack)

    assert out.startswith(f"redriven {message['message_id']}: stored again as generic:order-1~redrive-")
    assert cli.depth("exceptions") == 0
    assert len(result["records"]) == 1
    assert result["batchItemFailures"] == []
    shown = json_body(get_referral(referral["id"]))
    assert shown["status"] == "qualified"
    events = cli.stack.captured_events()
    assert [e["detail"]["referral_id"] for e in events] == [referral["id"]]
    redriven = [s for s in cli.stack.items_of("signal") if s.get("redrive_of")]
    assert [(s["redrive_of"], s["event_id"].split("~")[0]) for s in redriven] == [("order-1", "order-1")]
    actions = [a for a in cli.stack.items_of("audit") if a["referral_id"] == referral["id"]]
    admin = [a for a in actions if a["action"] == "admin.signal_redriven"]
    assert [(a["actor"], a["detail"]["message_id"]) for a in admin] == [
        ("admin:local", message["message_id"])
    ]
    [log] = cli.stack.items_of("admin_action")
    assert (log["action"], log["queue"], log["operator"]) == ("redrive", "exceptions", "local")
    assert json.loads(log["body"]) == message["body"]

    # The same message redriven again (a second copy) is absorbed downstream: qualified once.
    cli.send("exceptions", message["body"])
    assert cli("exceptions", "redrive", "--all").code == 0
    again = run_qualify(cli.stack)
    assert len(again["records"]) == 1
    assert cli.stack.captured_events() == []
    assert [a["action"] for a in cli.stack.items_of("audit")].count("referral.qualified") == 1


def test_a_redriven_signal_that_still_matches_nothing_comes_back_with_its_original_id(cli: Cli) -> None:
    an_unmatched_signal(cli)
    [message] = listed(cli)

    cli.ok("exceptions", "redrive", message["message_id"])
    run_qualify(cli.stack)
    [back] = listed(cli)
    cli.ok("exceptions", "redrive", back["message_id"])

    assert back["message_id"] != message["message_id"]
    assert back["payload"]["event_id"].startswith("order-1~redrive-")
    assert back["payload"]["redrive_of"] == "order-1"
    event_ids = sorted(s["event_id"] for s in cli.stack.items_of("signal"))
    assert event_ids[0] == "order-1"
    assert [e.count("~redrive-") for e in event_ids] == [0, 1, 1]  # a redrive of a redrive: one suffix
    assert {s.get("redrive_of") for s in cli.stack.items_of("signal")} == {None, "order-1"}


def test_redrive_all_handles_every_message(cli: Cli) -> None:
    an_unmatched_signal(cli, "a@example.org", "order-a")
    an_unmatched_signal(cli, "b@example.org", "order-b")

    out = cli.json("exceptions", "redrive", "--all")

    assert sorted(r["ok"] for r in out["results"]) == [True, True]
    assert sorted(s.split("~")[0] for r in out["results"] for s in r["signals"]) == [
        "generic:order-a",
        "generic:order-b",
    ]
    assert cli.depth("exceptions") == 0
    assert len(run_qualify(cli.stack)["records"]) == 2


def test_redrive_of_the_sample_message_stores_its_signal_again(cli: Cli) -> None:
    message_id = cli.send("exceptions", sample_body("exceptions_unmatched_signal"))

    cli.ok("exceptions", "redrive", message_id)

    [signal] = cli.stack.items_of("signal")
    assert signal["redrive_of"] == "order-10045"
    assert signal["campaign_id"] == "cmp_01jd3k4m5n6p7q8r9s0t1v2w3x"
    assert signal["match"] == {"code": "p4wz8hk2mq7x"}
    assert signal["received_at"] == "2026-11-23T20:15:05.007000+00:00"  # the business event's own time
    assert signal["pk"].startswith("SIGNAL#generic#cmp_01jd3k4m5n6p7q8r9s0t1v2w3x##order-10045~redrive-")


def test_redrive_of_an_unknown_id_exits_1_and_leaves_the_queue_alone(cli: Cli) -> None:
    an_unmatched_signal(cli)

    run = cli("exceptions", "redrive", "00000000-0000-0000-0000-000000000000")

    assert run.code == 1
    assert run.err == (
        "referrals: error: not found: no message 00000000-0000-0000-0000-000000000000"
        " in the exceptions queue\n"
    )
    assert cli.visible("exceptions") == 1
    assert [s for s in cli.stack.items_of("signal") if s.get("redrive_of")] == []


def test_a_message_without_a_valid_signal_is_not_redriven_and_stays(cli: Cli) -> None:
    body = json.loads(sample_body("exceptions_unmatched_signal"))
    body["reason"] = "invalid_signal"
    del body["payload"]["signal"]["campaign_id"]
    message_id = cli.send("exceptions", body)

    run = cli("exceptions", "redrive", message_id)

    assert run.code == 1
    assert "FAILED" in run.out
    assert "holds no valid signal" in run.err
    assert cli.visible("exceptions") == 1
    assert cli.stack.items_of("admin_action") == []


def test_discard_removes_the_message_and_logs_the_decision(cli: Cli) -> None:
    given = an_unmatched_signal(cli)
    referral = sign_up(given["code"], "late@example.org")
    [message] = listed(cli)

    out = cli.ok(
        "exceptions", "discard", message["message_id"], "--reason", "paid before the program started"
    )

    [log] = cli.stack.items_of("admin_action")
    day = log["at"][:10]
    assert out.strip() == f"discarded {message['message_id']}: recorded in the admin log ADMINLOG#{day}"
    assert cli.depth("exceptions") == 0
    assert log["pk"] == f"ADMINLOG#{day}"
    assert log["sk"] == f"{log['at']}#{message['message_id']}"
    assert log["action"] == "discard"
    assert log["queue"] == "exceptions"
    assert log["reason"] == "paid before the program started"
    assert log["operator"] == "local"
    assert json.loads(log["body"]) == message["body"]
    audit = [a for a in cli.stack.items_of("audit") if a["action"] == "admin.signal_discarded"]
    assert [(a["referral_id"], a["detail"]["reason"]) for a in audit] == [
        (referral["id"], "paid before the program started")
    ]
    assert json_body(get_referral(referral["id"]))["status"] == "pending"


def test_discard_needs_a_reason(cli: Cli) -> None:
    an_unmatched_signal(cli)
    [message] = listed(cli)

    run = cli("exceptions", "discard", message["message_id"])
    blank = cli("exceptions", "discard", message["message_id"], "--reason", "  ")

    assert run.code == 2
    assert "--reason" in run.err
    assert blank.code == 1
    assert cli.visible("exceptions") == 1
    assert cli.stack.items_of("admin_action") == []


def test_discard_of_an_unknown_id_exits_1(cli: Cli) -> None:
    run = cli("exceptions", "discard", "nope", "--reason", "x")
    assert (run.code, run.err) == (
        1,
        "referrals: error: not found: no message nope in the exceptions queue\n",
    )
