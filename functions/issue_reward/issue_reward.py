"""Issues the campaign's rewards for a `referral.qualified` event, exactly once.

Invoked asynchronously by an EventBridge rule: errors are retried by Lambda and then land in the
OnFailure queue; duplicates (rule retries, republished events) are absorbed by the reward service.
The detail is parsed by its contract model; Powertools' EventBridgeEvent would load its whole
data-classes package (~20 ms of cold init) for one key (docs/adr/0008).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from referral_engine import wiring
from referral_engine.domain.events import ReferralQualified
from referral_engine.domain.records import parse
from referral_engine.observability import Count, carry, count, logger, publish_metrics
from referral_engine.services.rewards import RewardOutcome


@publish_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    qualified = parse(ReferralQualified, event["detail"])
    carry(qualified.correlation_id)
    outcome = wiring.rewards().issue(qualified)
    logger.info("reward processed", extra={"referral_id": qualified.referral_id, "outcome": outcome.value})
    if outcome is RewardOutcome.ISSUED:
        count(Count.REWARDED)
    return {"referral_id": qualified.referral_id, "outcome": outcome.value}
