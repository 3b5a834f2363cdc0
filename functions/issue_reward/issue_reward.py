"""Issues the campaign's rewards for a `referral.qualified` event, and takes them back for a
`referral.reversed` one, exactly once (docs/adr/0020).

Invoked asynchronously by two EventBridge rules: errors are retried by Lambda and then land in the
OnFailure queue; duplicates (rule retries, republished events) are absorbed by the reward and
clawback services. The detail is parsed by its contract model; Powertools' EventBridgeEvent would
load its whole data-classes package (~20 ms of cold init) for one key (docs/adr/0008).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from referral_engine import wiring
from referral_engine.domain.events import ReferralQualified, ReferralReversed
from referral_engine.domain.records import parse
from referral_engine.observability import Count, carry, count, logger, publish_metrics
from referral_engine.services.rewards import RewardOutcome

ACTOR = "system:issue_reward"


@publish_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if event.get("detail-type") == ReferralReversed.detail_type:
        return _claw_back(parse(ReferralReversed, event["detail"]))
    qualified = parse(ReferralQualified, event["detail"])
    carry(qualified.correlation_id)
    outcome = wiring.rewards().issue(qualified)
    logger.info("reward processed", extra={"referral_id": qualified.referral_id, "outcome": outcome.value})
    if outcome is RewardOutcome.ISSUED:
        count(Count.REWARDED)
    return {"referral_id": qualified.referral_id, "outcome": outcome.value}


def _claw_back(reversed_: ReferralReversed) -> dict[str, Any]:
    carry(reversed_.correlation_id)
    outcomes = {rid: outcome.value for rid, outcome in wiring.clawbacks().claw_back(reversed_, ACTOR).items()}
    logger.info("rewards taken back", extra={"referral_id": reversed_.referral_id, "rewards": outcomes})
    return {"referral_id": reversed_.referral_id, "rewards": outcomes}
