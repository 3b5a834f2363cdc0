"""`referrals demo` / `make demo`: a narrated tour of a running stack, over its public HTTP API only.

campaign → advocate and share link → click (the 302 and the cookie) → signup → qualify → poll until
the reward is issued → the rewards. `run_demo` is the tour; the end-to-end tests call it too.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from typing import IO, Any

import requests

from referrals_local.outputs import StackOutputs

REQUEST_TIMEOUT = 10.0
CAMPAIGN = {
    "name": "Give $20, get $10",
    "landing_url": "https://shop.example.com/welcome",
    "reward": {"amount": "20.00", "currency": "USD", "friend_amount": "10.00"},
}
ADVOCATE = {"email": "ada@example.com", "name": "Ada"}
FRIEND = {"email": "grace@example.org", "name": "Grace"}
INVOICE = {"event_id": "inv_demo_0001", "amount": "79.00", "currency": "USD"}
STEPS = 6
_STUCK = {"rejected", "reversed", "in_review"}


class DemoFailed(RuntimeError):
    pass


class StackUnreachable(DemoFailed):
    pass


@dataclass(frozen=True)
class DemoResult:
    api_url: str
    campaign_id: str
    hook_url: str
    advocate_code: str
    share_url: str
    redirect_location: str
    cookie: str | None
    referral_id: str
    referral_code: str
    status: str
    statuses_seen: list[str]
    rewards: list[dict[str, Any]]
    seconds_to_reward: float
    steps: list[str] = field(default_factory=list)


def _compact(body: Any) -> str:
    return json.dumps(body, separators=(", ", ": "))


class _Tour:
    def __init__(self, base: str, api_key: str, session: requests.Session, out: IO[str]) -> None:
        self.base = base
        self.session = session
        self.out = out
        self.auth = {"Authorization": f"Bearer {api_key}"}
        self.steps: list[str] = []

    def say(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def step(self, number: int, title: str) -> None:
        self.steps.append(title)
        self.say(f"\n{number}/{STEPS}  {title}")

    def detail(self, text: str, arrow: str = " ") -> None:
        self.say(f"     {arrow} {text}" if arrow.strip() else f"       {text}")

    def call(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        expect: tuple[int, ...] = (200, 201),
        auth: bool = True,
        show: bool = True,
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        if show:
            self.detail(f"{method} {path}" + (f"  {_compact(body)}" if body is not None else ""), "→")
        try:
            response = self.session.request(
                method,
                self.base + path,
                json=body,
                headers={**(self.auth if auth else {}), **(headers or {})} or None,
                allow_redirects=False,
                timeout=REQUEST_TIMEOUT,
            )
        except requests.ConnectionError as error:
            raise StackUnreachable(
                f"cannot reach the API at {self.base} ({type(error).__name__}): is the stack running? "
                "start the local one with `make run`"
            ) from error
        if response.status_code not in expect:
            hint = " (the API key was refused: pass --api-key)" if response.status_code == 401 else ""
            raise DemoFailed(
                f"{method} {path} answered {response.status_code}{hint}: {response.text.strip()[:300]}"
            )
        return response

    def create_campaign(self) -> dict[str, Any]:
        self.step(1, "A business creates a campaign: give $20, get $10")
        campaign = _json(self.call("POST", "/v1/campaigns", body=CAMPAIGN, expect=(201,)))
        reward = campaign["reward"]
        self.detail(
            f"{campaign['id']}: {reward['amount']} {reward['currency']} for the advocate, "
            f"{reward.get('friend_amount')} {reward['currency']} for the friend, once a referral qualifies",
            "←",
        )
        self.detail(f"its generic webhook (for CRMs, Zapier, success pages): {campaign['hook_url']}")
        return campaign

    def enrol(self, campaign_id: str) -> dict[str, Any]:
        self.step(2, "Ada joins as an advocate and gets her share link")
        path = f"/v1/campaigns/{campaign_id}/advocates"
        advocate = _json(self.call("POST", path, body=ADVOCATE, expect=(200, 201)))
        self.detail(f"code {advocate['code']}, share link {advocate['share_url']}", "←")
        return advocate

    def click(self, code: str) -> requests.Response:
        self.step(3, "Grace follows Ada's link (not following the redirect, to show it)")
        # As her browser: the HTTP library's own user agent is a bot's, not counted (docs/adr/0023).
        browser = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"}
        click = self.call("GET", f"/r/{code}", expect=(302,), auth=False, headers=browser)
        self.detail(f"302  Location: {click.headers.get('Location', '')}", "←")
        self.detail(f"Set-Cookie: {click.headers.get('Set-Cookie')}")
        self.detail("The click is counted and the shop's landing page learns who referred her (ref=).")
        return click

    def sign_up(self, code: str) -> dict[str, Any]:
        self.step(4, "Grace signs up at the shop, which reports it with the ref code")
        signup = _json(self.call("POST", "/v1/referrals", body={"code": code, **FRIEND}, expect=(200, 201)))
        own = signup["referral_code"]
        self.detail(f"referral {signup['id']}, status {signup['status']}; Grace's own code is {own}", "←")
        return signup

    def qualify(self, referral_id: str) -> None:
        self.step(5, "Grace pays her first invoice: the shop qualifies the referral")
        path = f"/v1/referrals/{referral_id}/qualify"
        accepted = _json(self.call("POST", path, body=INVOICE, expect=(202,)))
        self.detail(f"202 accepted as signal {accepted.get('signal_id')}; the rest is asynchronous:", "←")
        self.detail("table stream → qualify → EventBridge referral.qualified → issue_reward")

    def wait_for_reward(
        self, referral_id: str, timeout: float, poll_interval: float
    ) -> tuple[dict[str, Any], list[str], float]:
        self.step(6, "Waiting for the reward")
        path = f"/v1/referrals/{referral_id}"
        self.detail(f"GET {path}  (every {poll_interval:g} s, up to {timeout:g} s)", "→")
        started = time.monotonic()
        seen: list[str] = []
        while True:
            shown = _json(self.call("GET", path, expect=(200,), show=False))
            status = str(shown["status"])
            if not seen or seen[-1] != status:
                seen.append(status)
            elapsed = time.monotonic() - started
            if status == "rewarded":
                self.detail(f"{' → '.join(seen)} after {elapsed:.1f} s", "←")
                return shown, seen, elapsed
            if status in _STUCK:
                raise DemoFailed(f"the referral went {status} instead of rewarded (seen: {' → '.join(seen)})")
            if elapsed > timeout:
                raise DemoFailed(
                    f"the referral is still {status} after {timeout:g} s (seen: {' → '.join(seen)}): check "
                    "the stack's log, `referrals exceptions list` and `referrals dlq list`"
                )
            time.sleep(poll_interval)


def _json(response: requests.Response) -> dict[str, Any]:
    body = response.json()
    if not isinstance(body, dict):
        raise DemoFailed(f"{response.request.method} {response.url} did not answer a JSON object")
    return body


def run_demo(
    outputs: StackOutputs,
    out: IO[str] | None = None,
    *,
    api_key: str | None = None,
    session: requests.Session | None = None,
    timeout: float = 20.0,
    poll_interval: float = 0.25,
) -> DemoResult:
    """Runs the tour against `outputs.api_url`, narrating on `out`; raises DemoFailed (or its
    StackUnreachable) with a one-line reason when a step does not go as it should."""
    key = api_key or outputs.api_key
    if not key:
        raise DemoFailed("the demo needs a server API key (the local stack's outputs have none)")
    base = outputs.api_url.rstrip("/")
    tour = _Tour(base, key, session or requests.Session(), out or sys.stdout)
    tour.say(f"Referral engine demo against {base}")
    tour.say("Each step is one HTTP call an integration would make; server calls send the API key as")
    tour.say("`Authorization: Bearer ...`. → is the request, ← what came back.")

    campaign = tour.create_campaign()
    advocate = tour.enrol(campaign["id"])
    code = advocate["code"]
    click = tour.click(code)
    signup = tour.sign_up(code)
    referral_id = signup["id"]
    tour.qualify(referral_id)
    shown, seen, elapsed = tour.wait_for_reward(referral_id, timeout, poll_interval)

    tour.say("\nRewards")
    rewards: list[dict[str, Any]] = list(shown.get("rewards", []))
    for item in rewards:
        amount = f"{item['amount']} {item['currency']}"
        tour.detail(f"{item['recipient']:<9} {item['recipient_code']}  {amount}  {item['status']}")
    tour.say("\nDone. Look closer with the admin CLI:")
    tour.say(f"  referrals referrals show {referral_id}     (the audit trail)")
    tour.say(f"  referrals advocates show {code}   (clicks, referrals, credit)")
    return DemoResult(
        api_url=base,
        campaign_id=campaign["id"],
        hook_url=campaign["hook_url"],
        advocate_code=code,
        share_url=advocate["share_url"],
        redirect_location=click.headers.get("Location", ""),
        cookie=click.headers.get("Set-Cookie"),
        referral_id=referral_id,
        referral_code=signup["referral_code"],
        status=str(shown["status"]),
        statuses_seen=seen,
        rewards=rewards,
        seconds_to_reward=round(elapsed, 3),
        steps=tour.steps,
    )
