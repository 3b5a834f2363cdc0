"""Issues the campaign's rewards for a `referral.qualified` event, exactly once.

Invoked asynchronously by an EventBridge rule: errors are retried by Lambda and then land in the
OnFailure queue; duplicates (rule retries, republished events) are absorbed by the reward service.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from referral_engine import wiring
from referral_engine.domain.events import ReferralQualified

logger = Logger()


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    qualified = ReferralQualified.model_validate(event["detail"])
    outcome = wiring.rewards().issue(qualified)
    logger.info("reward processed", extra={"referral_id": qualified.referral_id, "outcome": outcome.value})
    return {"referral_id": qualified.referral_id, "outcome": outcome.value}
