"""`make run` keeps its data across a restart (ADR 0013): stopped with Ctrl-C (leaving no process or port
behind), or killed with SIGKILL once a snapshot is written, it starts again with yesterday's campaigns,
queued messages and keys; `--reset` (`make run RESET=1`) starts empty."""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from referrals_local.outputs import OUTPUTS_FILE
from referrals_local.stack.local_state import snapshot_path
from referrals_local.stack.moto_state import Header
from support.local_stack import RunningStack, alive, descendants, referrals_cli, start_stack
from support.polling import settled

CAMPAIGN = {
    "name": "Kept across restarts",
    "landing_url": "https://shop.example.com/",
    "reward": {"amount": "15.00", "currency": "EUR", "friend_amount": "5.00"},
}
UNMATCHED = {"email": "not-yet@example.org", "event_id": "pay-kept"}


def queued(stack: RunningStack, admin_key: str) -> list[dict[str, Any]]:
    """The unmatched payment's messages in the exceptions queue, as the admin API lists them."""
    response = requests.get(
        f"{stack.api}/v1/admin/queues/exceptions/messages",
        headers={"Authorization": f"Bearer {admin_key}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return [m for m in response.json()["items"] if UNMATCHED["email"] in json.dumps(m)]


def listed_campaigns(stack: RunningStack) -> list[str]:
    """The campaigns `referrals campaigns list` shows, each also found over HTTP."""
    result = referrals_cli(stack, "--json", "campaigns", "list")
    assert result.returncode == 0, result.stderr
    ids = [str(campaign["id"]) for campaign in json.loads(result.stdout)["items"]]
    assert all(stack.get(f"/v1/campaigns/{campaign_id}").status_code == 200 for campaign_id in ids)
    return ids


def kill_everything(stack: RunningStack) -> None:
    """SIGKILL to the runner and every process it started at once, as a crash would."""
    pids = {stack.process.pid, *descendants(stack.process.pid)}
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    stack.process.wait()
    stack.log_file.close()
    settled(lambda: not any(alive(pid) for pid in pids), what="every process of the stack to be gone")
    (stack.state_dir / OUTPUTS_FILE).unlink()  # what a killed stack leaves: start_stack waits for a new one


def test_the_data_survives_ctrl_c_and_sigkill_until_a_reset(tmp_path: Path) -> None:
    # Given a campaign, and a payment for nobody signed up yet, waiting in the exceptions queue
    first = start_stack(tmp_path, fixed_keys=False)
    admin_key = first.outputs.admin_api_key or ""
    campaign = first.post("/v1/campaigns", CAMPAIGN).json()
    assert requests.get(campaign["hook_url"], params=UNMATCHED, timeout=10).status_code == 202
    first.wait_for(lambda: queued(first, admin_key), what="the payment in the exceptions queue")

    # Ctrl-C: no process left behind, the ports free; a start without keys given: the same keys, the
    # campaign, the queued message
    children = descendants(first.process.pid)
    assert len(children) >= 6  # moto and one worker per function, at least
    assert first.stop() == 0
    assert [pid for pid in children if alive(pid)] == []
    assert not (first.state_dir / OUTPUTS_FILE).exists()
    for url in (first.outputs.api_url, first.outputs.endpoint_url or ""):
        with socket.socket() as probe:
            assert probe.connect_ex((urlsplit(url).hostname or "", urlsplit(url).port or 0)) != 0
    second = start_stack(tmp_path, fixed_keys=False)
    try:
        assert (second.outputs.api_key, second.outputs.admin_api_key) == (first.outputs.api_key, admin_key)
        assert listed_campaigns(second) == [campaign["id"]]
        assert len(queued(second, admin_key)) == 1

        # SIGKILL to every process, once a snapshot taken after a later write is on disk
        before_last_write = time.time()
        later = second.post("/v1/campaigns", {**CAMPAIGN, "name": "Created before the crash"}).json()
        snapshot = snapshot_path(second.state_dir)
        settled(
            lambda: (header := Header.read(snapshot)) is not None and header.captured_at > before_last_write,
            what="a snapshot taken after the last write",
        )
    finally:
        kill_everything(second)
    third = start_stack(tmp_path, fixed_keys=False)
    try:
        assert set(listed_campaigns(third)) == {campaign["id"], later["id"]}
        assert len(queued(third, admin_key)) == 1
    finally:
        assert third.stop() == 0

    # --reset (make run RESET=1): empty, with new keys
    clean = start_stack(tmp_path, "--reset", fixed_keys=False)
    try:
        assert clean.outputs.admin_api_key != admin_key
        assert listed_campaigns(clean) == []
        assert queued(clean, clean.outputs.admin_api_key or "") == []
    finally:
        clean.stop()
