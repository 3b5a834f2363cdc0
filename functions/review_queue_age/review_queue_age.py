"""Every 5 minutes: how long the review queue's oldest open item has waited, as the metric
`OldestOpenReviewAgeSeconds` (0 when the queue is empty), in an EMF log line; no PutMetricData call.
The `ReviewQueueAgeAlarm` fires when it passes the stack's `ReviewQueueMaxAgeHours` (docs/adr/0019).

One key-ordered read of gsi1's `REVIEWS` partition (Limit 1). A failed run is not retried: the next
one, 5 minutes later, measures again.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from referral_engine import wiring
from referral_engine.observability import logger, metrics, publish_metrics

METRIC = "OldestOpenReviewAgeSeconds"


@publish_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, float]:
    age = wiring.reviews().oldest_age_seconds()
    metrics.add_metric(name=METRIC, unit=MetricUnit.Seconds, value=age)
    logger.info("review queue measured", extra={"oldest_age_seconds": age})
    return {"oldest_age_seconds": age}
