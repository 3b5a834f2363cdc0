"""`referrals demo`: the narrated tour, over HTTP only. Here the HTTP requests reach the real handlers in
process through a requests transport adapter (no socket), and the stream and the bus are pumped as
the local stack would, one stage per poll."""

from __future__ import annotations

import dataclasses
import io
import re
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

import api
import track_click
from referrals_local.demo import DemoFailed, StackUnreachable, run_demo
from support.events import LambdaContext, http_event
from support.journey import run_issue_reward, run_qualify

if TYPE_CHECKING:
    from collections.abc import Mapping

    from cli.conftest import Cli
    from support.aws import AwsStack

API_URL = "https://api.example.test"
_ROUTES: list[tuple[str, re.Pattern[str], str, str | None]] = [
    ("POST", re.compile(r"^/v1/campaigns$"), "create_campaign", None),
    ("POST", re.compile(r"^/v1/campaigns/(?P<campaign_id>[^/]+)/advocates$"), "enrol_advocate", None),
    ("POST", re.compile(r"^/v1/referrals$"), "sign_up", None),
    ("POST", re.compile(r"^/v1/referrals/(?P<referral_id>[^/]+)/qualify$"), "qualify_referral", None),
    ("GET", re.compile(r"^/v1/referrals/(?P<referral_id>[^/]+)$"), "get_referral", "pump"),
]


class InProcessApi(BaseAdapter):
    """Turns a requests PreparedRequest into the HTTP API event its route's function receives."""

    def __init__(self, stack: AwsStack, *, pump: bool = True) -> None:
        super().__init__()
        self.stack = stack
        self.pump = pump
        self.stages = 0
        self.calls: list[str] = []

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        path = urlsplit(request.url or "").path
        headers = {name.lower(): value for name, value in request.headers.items()}
        self.calls.append(f"{request.method} {path}")
        if path.startswith("/r/"):
            code = path.removeprefix("/r/")
            event = http_event("track_click/get_referral_link", path=path, path_parameters={"code": code})
            return self._response(request, track_click.handler(event, LambdaContext()))
        for method, pattern, sample, hook in _ROUTES:
            found = pattern.match(path)
            if method == request.method and found:
                if hook and self.pump:
                    self._pump_one_stage()
                body = request.body.decode() if isinstance(request.body, bytes) else request.body
                event = http_event(
                    f"api/{sample}",
                    path=path,
                    path_parameters=found.groupdict() or None,
                    body=body,
                    headers=headers,
                )
                if "authorization" not in headers:
                    event["headers"].pop("authorization", None)
                return self._response(request, api.handler(event, LambdaContext()))
        return self._response(request, {"statusCode": 404, "body": "{}"})

    def _pump_one_stage(self) -> None:
        """qualify on one poll, issue_reward on the next: the demo sees each status in turn."""
        if self.stages % 2 == 0:
            run_qualify(self.stack)
        else:
            run_issue_reward(self.stack)
        self.stages += 1

    @staticmethod
    def _response(request: requests.PreparedRequest, result: dict[str, Any]) -> requests.Response:
        response = requests.Response()
        response.status_code = result["statusCode"]
        headers: CaseInsensitiveDict[str] = CaseInsensitiveDict(result.get("headers") or {})
        if result.get("cookies"):
            headers["Set-Cookie"] = ", ".join(result["cookies"])
        response.headers = headers
        response._content = (result.get("body") or "").encode()
        response.encoding = "utf-8"
        response.url = request.url or ""
        response.request = request
        return response

    def close(self) -> None:
        pass


def session_for(adapter: InProcessApi) -> requests.Session:
    session = requests.Session()
    session.mount(API_URL, adapter)
    return session


def test_the_tour_goes_from_campaign_to_reward_and_narrates_each_step(cli: Cli) -> None:
    from support.aws import API_KEY

    adapter = InProcessApi(cli.stack)
    out = io.StringIO()

    result = run_demo(cli.outputs, out, api_key=API_KEY, session=session_for(adapter), poll_interval=0.01)

    assert result.status == "rewarded"
    assert result.statuses_seen == ["qualified", "rewarded"]
    assert sorted((r["recipient"], r["amount"], r["status"]) for r in result.rewards) == [
        ("advocate", "20.00", "fulfilled"),
        ("friend", "10.00", "fulfilled"),
    ]
    assert parse_qs(urlsplit(result.redirect_location).query)["ref"] == [result.advocate_code]
    assert result.redirect_location.startswith("https://shop.example.com/welcome?")
    assert result.cookie is not None
    assert result.cookie.startswith(f"ref={result.advocate_code};")
    assert adapter.calls[:5] == [
        "POST /v1/campaigns",
        f"POST /v1/campaigns/{result.campaign_id}/advocates",
        f"GET /r/{result.advocate_code}",
        "POST /v1/referrals",
        f"POST /v1/referrals/{result.referral_id}/qualify",
    ]
    # the stack agrees: one click counted, the referral rewarded once
    [advocate] = [p for p in cli.stack.items_of("participant") if p["code"] == result.advocate_code]
    assert (advocate["clicks"], advocate["referrals"], advocate["rewards"]) == (1, 1, 1)
    narration = out.getvalue()
    for number in range(1, 7):
        assert f"\n{number}/6  " in narration
    assert f"→ GET /r/{result.advocate_code}" in narration
    assert f"← 302  Location: {result.redirect_location}" in narration
    assert f"Set-Cookie: ref={result.advocate_code};" in narration
    assert "qualified → rewarded after" in narration
    assert f"referrals referrals show {result.referral_id}" in narration


def test_a_reward_that_never_comes_fails_with_the_status_it_is_stuck_in(cli: Cli) -> None:
    from support.aws import API_KEY

    adapter = InProcessApi(cli.stack, pump=False)  # nothing consumes the stream

    with pytest.raises(DemoFailed, match=r"^the referral is still pending after 0.2 s \(seen: pending\)"):
        run_demo(
            cli.outputs,
            io.StringIO(),
            api_key=API_KEY,
            session=session_for(adapter),
            timeout=0.2,
            poll_interval=0.02,
        )


def test_a_refused_api_key_says_so(cli: Cli) -> None:
    adapter = InProcessApi(cli.stack)

    with pytest.raises(DemoFailed, match=r"^POST /v1/campaigns answered 401 \(the API key was refused"):
        run_demo(cli.outputs, io.StringIO(), api_key="rk_wrong", session=session_for(adapter))
    assert cli.stack.items_of("campaign") == []


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_an_api_that_does_not_answer_is_unreachable(cli: Cli) -> None:
    outputs = dataclasses.replace(cli.outputs, api_url=f"http://127.0.0.1:{closed_port()}")

    with pytest.raises(StackUnreachable, match="start the local one with `make run`"):
        run_demo(outputs, io.StringIO(), api_key="rk_any")


def test_the_demo_command_needs_an_api_key(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REFERRALS_API_KEY", raising=False)

    run = cli("demo")

    assert run.code == 2
    assert run.err.startswith("referrals: error: the demo needs a server API key")


def test_the_demo_command_exits_2_when_the_api_does_not_answer(cli: Cli, tmp_path: Path) -> None:
    port = closed_port()
    dataclasses.replace(cli.outputs, api_url=f"http://127.0.0.1:{port}", api_key="rk_local").write(tmp_path)

    run = cli("--state-dir", str(tmp_path), "demo")

    assert run.code == 2
    assert run.err.startswith(f"referrals: error: cannot reach the API at http://127.0.0.1:{port}")
