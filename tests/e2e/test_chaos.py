"""The whole journey under chaos mode (ADR 0016): clicks, signups and every webhook source while the AWS
endpoint throttles, fails, times out and slows down, then an outage of the signal store. Nothing accepted
is lost, nothing is rewarded twice, every failure is retried to success or parked where an admin redrives
it, and a webhook is answered 5xx/429 only when its vendor delivers it again."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from support.local_stack import CHAOS, RunningStack
from support.receiver import Receiver, receiving
from support.vendor_calls import Match, vendor_call
from support.vendor_sources import SOURCES, Source, send

CAMPAIGN = {
    "name": "Chaos: give $20, get $10",
    "landing_url": "https://shop.example.com/welcome",
    "reward": {"amount": "20.00", "currency": "USD", "friend_amount": "10.00"},
}
SIGNAL_STORE_DOWN = f"dynamodb:PutItem=throttle@1,{CHAOS}"  # the inbox's conditional put always fails
GENERIC = Source("generic", "", redelivers=False)
REDELIVERY_ATTEMPTS = 5
RETRYABLE = {429, 500, 502, 503, 504}
# The zap a qualified referral is announced to fails, throttles and hangs at times (deliver_events waits 5 s)
ZAP_CHAOS = "receiver=500@0.2,receiver=throttle@0.1,receiver=timeout:6s@0.03"
WAIT_S = 30  # a client's read timeout: longer than any cold start on a busy machine


@dataclass
class Journey:
    source: Source
    referral_id: str
    hook_url: str
    secret: str
    match: Match
    event_id: str

    def deliver(self) -> requests.Response:
        if self.source.name == "generic":
            params = {"code": self.match.referral_code, "event_id": self.event_id}
            return requests.post(self.hook_url, json=params, timeout=WAIT_S)
        call = vendor_call(
            self.source.name, self.hook_url, self.secret, self.source.settings, self.match, self.event_id
        )
        return send(self.hook_url, call, timeout=WAIT_S)


def created(stack: RunningStack, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POSTs as a server does; a slow answer (a cold start on a loaded machine) is waited for."""
    response = requests.post(f"{stack.api}{path}", json=body, headers=stack.headers(), timeout=WAIT_S)
    assert response.status_code in (200, 201), response.text
    made: dict[str, Any] = response.json()
    return made


def start_journey(stack: RunningStack, campaign: dict[str, Any], source: Source) -> Journey:
    advocate = created(
        stack, f"/v1/campaigns/{campaign['id']}/advocates", {"email": f"ada-{source.name}@example.com"}
    )
    click = requests.get(  # a browser's user agent: the HTTP library's is a bot's, not counted (ADR 0023)
        f"{stack.api}/r/{advocate['code']}",
        headers={"User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"},
        allow_redirects=False,
        timeout=WAIT_S,
    )
    assert click.status_code == 302, click.text  # a click never fails, whatever its count meets
    friend = f"grace-{source.name}@example.org"
    signup: dict[str, Any] = {"code": advocate["code"], "email": friend}
    if source.external_id:
        signup["external_ids"] = {source.name: source.external_id}
    referral = created(stack, "/v1/referrals", signup)
    match = Match(source.external_id, referral["referral_code"], friend)
    event_id = f"chaos{uuid.uuid4().hex}"
    if source.name == "generic":
        return Journey(source, referral["id"], campaign["hook_url"], "", match, event_id)
    body: dict[str, Any] = {"source": source.name}
    for name in ("milestone", "settings", "secret"):
        if getattr(source, name):
            body[name] = getattr(source, name)
    connection = created(stack, f"/v1/campaigns/{campaign['id']}/connections", body)
    return Journey(
        source, referral["id"], connection["hook_url"], source.secret or connection["secret"], match, event_id
    )


def heard(zap: Receiver) -> list[str]:
    """The referrals the zap took an announcement of (answered 2xx), one entry per announcement taken."""
    return sorted(r.payload["id"] for r in zap.received if 200 <= r.status < 300)


def parked(stack: RunningStack) -> dict[str, int]:
    """The failure queues and the exceptions queue holding messages, as the admin API shows them."""
    admin = {"Authorization": f"Bearer {stack.outputs.admin_api_key}"}
    queues = requests.get(f"{stack.api}/v1/admin/queues", headers=admin, timeout=15)
    assert queues.status_code == 200, queues.text
    return {
        q["name"]: q["visible"] + q["in_flight"]
        for q in queues.json()["items"]
        if q["visible"] + q["in_flight"]
    }


def redrive_parked(stack: RunningStack) -> list[str]:
    """Redrives every queue holding a message, as an admin does (`referrals dlq redrive QUEUE --all`)."""
    admin = {"Authorization": f"Bearer {stack.outputs.admin_api_key}"}
    queues = sorted(parked(stack))
    for queue in queues:
        redriven = requests.post(f"{stack.api}/v1/admin/queues/{queue}/redrive", headers=admin, timeout=30)
        assert redriven.status_code == 200, redriven.text
    return queues


@pytest.fixture
def zap() -> Iterator[Receiver]:
    with receiving(ZAP_CHAOS, seed=9) as receiver:
        yield receiver


def test_under_chaos_nothing_accepted_is_lost_or_rewarded_twice(
    chaos_stack: RunningStack, zap: Receiver
) -> None:
    stack = chaos_stack
    # Given a campaign whose qualified referrals a zap hears of, and per webhook source an advocate whose
    # link is clicked and a friend who signs up
    campaign = created(stack, "/v1/campaigns", CAMPAIGN)
    subscription = {"target_url": zap.url(), "event": "referral.qualified", "campaign_id": campaign["id"]}
    created(stack, "/v1/hooks/subscriptions", subscription)
    with ThreadPoolExecutor(2) as pool:  # on 2 cores: more would only add cold starts
        journeys = list(pool.map(lambda source: start_journey(stack, campaign, source), [*SOURCES, GENERIC]))

        # When the signal store is down while every source calls
        stack.chaos(SIGNAL_STORE_DOWN)
        answers = list(pool.map(Journey.deliver, journeys))
        stack.chaos(CHAOS)
    during_outage = {journey.source.name: answer for journey, answer in zip(journeys, answers, strict=True)}

    # Then a vendor that delivers again is answered 5xx/429, and one that does not has its call accepted
    for journey in journeys:
        answer = during_outage[journey.source.name]
        if journey.source.redelivers:
            assert answer.status_code in RETRYABLE, (journey.source.name, answer.status_code, answer.text)
        else:
            assert answer.status_code in (200, 202), (journey.source.name, answer.status_code, answer.text)

    # When the vendors that redeliver do so (signed anew, as they retry)
    def redelivered(journey: Journey) -> requests.Response:
        for _ in range(REDELIVERY_ATTEMPTS):
            answer = journey.deliver()
            if answer.status_code not in RETRYABLE:
                break
        return answer

    redeliveries = [journey for journey in journeys if journey.source.redelivers]
    with ThreadPoolExecutor(2) as pool:
        for journey, answer in zip(redeliveries, pool.map(redelivered, redeliveries), strict=True):
            # Then they are accepted
            assert answer.status_code == 200, (journey.source.name, answer.status_code, answer.text)
            assert journey.source.reply(answer), answer.text

    # And an admin redrives what was parked: the accepted calls of the others, and any failure after retries
    not_redelivered = [j for j in journeys if not j.source.redelivers]
    assert parked(stack).get("exceptions") == len(not_redelivered)

    def all_rewarded_else_redrive() -> bool:
        listed = stack.get(f"/v1/campaigns/{campaign['id']}/referrals", params={"limit": 100}).json()["items"]
        rewarded = len(listed) == len(journeys) and all(
            referral["status"] == "rewarded" for referral in listed
        )
        if rewarded and len(heard(zap)) == len(journeys):
            return True
        redrive_parked(stack)
        return False

    stack.wait_for(all_rewarded_else_redrive, timeout=30, what="every referral rewarded")

    # Then, once nothing more happens, every referral is rewarded once and no queue holds anything
    def outcome() -> tuple[dict[str, tuple[str, list[tuple[str, str]]]], dict[str, int], list[str]]:
        shown = {j.source.name: stack.get(f"/v1/referrals/{j.referral_id}").json() for j in journeys}
        rewards = {
            name: (referral["status"], sorted((r["recipient"], r["amount"]) for r in referral["rewards"]))
            for name, referral in shown.items()
        }
        return rewards, parked(stack), heard(zap)

    rewards, queues, announced = stack.once_quiet(outcome)
    once = ("rewarded", [("advocate", "20.00"), ("friend", "10.00")])
    assert rewards == {journey.source.name: once for journey in journeys}
    assert queues == {}
    assert announced == sorted(journey.referral_id for journey in journeys)  # each once, despite its faults
    injected = stack.chaos(CHAOS)["injected"]
    assert sum(injected.values()) > len(journeys), injected  # the faults did happen
