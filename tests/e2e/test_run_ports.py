"""`make run` on a port that is taken: one line saying which and how to pick another, a non-zero exit,
no traceback, nothing left running."""

from __future__ import annotations

import os
import re
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from referrals_local.template import REPO_ROOT
from support.local_stack import free_port


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.parametrize(
    ("taken", "variable", "option"), [("api", "API_PORT", "--api-port"), ("aws", "AWS_PORT", "--aws-port")]
)
def test_a_port_in_use_is_named_with_how_to_pick_another(
    tmp_path: Path, taken_port: int, taken: str, variable: str, option: str
) -> None:
    ports = {"api": free_port(), "aws": free_port(), taken: taken_port}
    state_dir = tmp_path / "state"

    # -o: the venv running this test is not reinstalled under it, even if pyproject.toml is newer
    make_run = ["make", "--no-print-directory", "-o", ".venv/.installed", "run"]
    make_run += [f"API_PORT={ports['api']}", f"AWS_PORT={ports['aws']}"]
    run = subprocess.run(  # noqa: S603 - the project's own Makefile
        make_run,
        cwd=REPO_ROOT,
        env={**os.environ, "REFERRALS_STATE_DIR": str(state_dir)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert run.returncode != 0
    # make passes the ports on (its echo of the command is the only output), and nothing started
    assert run.stdout.splitlines() == [
        f".venv/bin/referrals run --api-port {ports['api']} --aws-port {ports['aws']}"
    ]
    ours = [line for line in run.stderr.splitlines() if not re.match(r"make(\[\d+\])?: \*\*\* ", line)]
    assert len(ours) == 1, run.stderr
    assert ours[0].startswith(f"referrals run: error: 127.0.0.1:{taken_port} (")
    assert "is in use" in ours[0]
    assert f"pick another port: make run {variable}=" in ours[0]
    assert f"(or referrals run {option} " in ours[0]
    assert "Traceback" not in run.stderr
    other = ports["aws" if taken == "api" else "api"]
    assert not listening(other)
    assert not (state_dir / "outputs.json").exists()
