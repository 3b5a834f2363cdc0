"""The bus events under events/ (what `sam local invoke -e` feeds the functions) are the events the
engine publishes: each one's detail is valid under its contract model, and its detail-type is the
model's."""

from __future__ import annotations

import pytest

from referral_engine.domain.events import ReferralCreated, ReferralQualified, ReferralReversed
from referral_engine.domain.records import json_values, parse
from referral_engine.domain.subscriptions import EVENT_TIME, SUBSCRIPTION_EVENTS
from support.events import sample

Contract = type[ReferralCreated] | type[ReferralQualified] | type[ReferralReversed]
CONTRACTS: dict[str, Contract] = {
    "issue_reward/referral_qualified": ReferralQualified,
    "deliver_events/referral_created": ReferralCreated,
    "deliver_events/referral_qualified": ReferralQualified,
    "deliver_events/referral_reversed": ReferralReversed,
}


@pytest.mark.parametrize("name", CONTRACTS)
def test_a_bus_sample_is_the_event_its_contract_describes(name: str) -> None:
    event = sample(name)
    contract = CONTRACTS[name]

    detail = parse(contract, event["detail"])

    assert event["source"] == "referral-engine"
    assert event["detail-type"] == contract.detail_type
    assert json_values(detail) == event["detail"]


def test_every_hook_event_has_a_sample_carrying_its_time() -> None:
    for hook_event in SUBSCRIPTION_EVENTS:
        name = f"deliver_events/{hook_event.replace('.', '_')}"
        assert name in CONTRACTS
        assert sample(name)["detail"][EVENT_TIME[hook_event]]
