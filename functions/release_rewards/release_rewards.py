"""The release schedule (docs/adr/0020): releases and fulfils the rewards whose hold is over.

Invoked by an EventBridge schedule, one run at a time (reserved concurrency 1). Each run takes what
is due from the release index, a bounded number at most; what it leaves, or fails on, stays on the
index for the next run, so a failed run needs no retry of its own.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from referral_engine import wiring
from referral_engine.observability import logger, publish_metrics


class RewardsNotReleased(RuntimeError):
    """Some due rewards failed: the run reports an error (the alarm), the next run tries them again."""


@publish_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    report = asdict(wiring.releases().run())
    logger.info("release run", extra=report)
    if report["failed"]:
        raise RewardsNotReleased(f"{len(report['failed'])} due rewards failed: {report['failed']}")
    return report
