"""The one Logger and the one Metrics every Powertools function uses (service and namespace from the
template's POWERTOOLS_SERVICE_NAME and POWERTOOLS_METRICS_NAMESPACE), and the business counts.

The correlation id: an HTTP function's logger takes the API Gateway request id
(`inject_lambda_context(correlation_id_path=API_GATEWAY_HTTP)`); the services stamp it on the signal
and referral items they write (`correlation_id()`, passed to them by wiring); the stream consumers
set it again from the item (`carry(...)`) and put it in the bus events' detail, whose consumers set
it from there. So one id finds a request's log lines in every function it went through.

track_click does not import this (no Powertools on the click path): it prints its EMF line itself.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from enum import StrEnum
from typing import Any, TypeVar, cast

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from referral_engine.domain.errors import NotFound

logger = Logger()
metrics = Metrics()

Handler = TypeVar("Handler", bound=Callable[..., Any])

# Most API routes count nothing; Powertools would warn on every such invocation.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)


class Count(StrEnum):
    """The business counts (CloudWatch metric names); `Clicks` is track_click's, printed there."""

    SIGNUPS = "Signups"
    SIGNALS_ACCEPTED = "SignalsAccepted"  # dimension: source
    SIGNALS_REFUSED = "SignalsRefused"  # dimensions: source, reason (the error code)
    QUALIFIED = "ReferralsQualified"
    REWARDED = "ReferralsRewarded"
    REVERSED = "ReferralsReversed"


def publish_metrics(handler: Handler) -> Handler:
    """`metrics.log_metrics`, keeping the handler's type: flushes the invocation's counts as one EMF line."""
    return cast("Handler", metrics.log_metrics(handler))


def count(name: Count, value: int = 1, **dimensions: str) -> None:
    """Adds to this invocation's metrics (flushed by the handler's `metrics.log_metrics`); the
    dimensions apply to the invocation's every metric, so one invocation counts for one source."""
    if not value:
        return  # a dimension without a metric would outlive this invocation (Powertools keeps it)
    for dimension, dimension_value in dimensions.items():
        metrics.add_dimension(dimension, dimension_value)
    metrics.add_metric(name=name.value, unit=MetricUnit.Count, value=value)


def count_refusals(route: Handler) -> Handler:
    """inbound_webhook's routes: a webhook refused for its signature or credentials, or sent to a hook
    URL that does not exist, counts as `SignalsRefused` by source (the route's, else generic) and reason
    (the error code)."""
    from referral_engine.domain.webhooks import WebhookForbidden, WebhookRefused

    @functools.wraps(route)
    def counted(*args: Any, **path_parameters: str) -> Any:
        try:
            return route(*args, **path_parameters)
        except (WebhookRefused, WebhookForbidden, NotFound) as refused:
            source = path_parameters.get("source", "generic")
            count(Count.SIGNALS_REFUSED, source=source, reason=refused.code)
            raise

    return cast("Handler", counted)


def correlation_id() -> str | None:
    """The id of the request (or of the stream record or bus event) this invocation is serving."""
    return logger.get_correlation_id()


def carry(value: str | None) -> None:
    """Continues the correlation id an item or event carries (None for items older than the field)."""
    logger.set_correlation_id(value)
