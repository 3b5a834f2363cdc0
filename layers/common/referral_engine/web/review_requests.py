"""What the review routes read from a request (records: the admin function loads no pydantic)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from referral_engine.domain.fraud import Reason
from referral_engine.domain.records import Record
from referral_engine.domain.reviews import (
    CLAWBACK_NEEDED,
    MAX_BULK,
    MAX_DECISION_REASON,
    Decision,
    ReviewKind,
)
from referral_engine.domain.stripped_text import FieldRefused, strip, text_schema
from referral_engine.web.paging import Paging

REVIEW_REASONS = frozenset({*(reason.value for reason in Reason), CLAWBACK_NEEDED})
_REVIEW_ID = msgspec.Meta(
    min_length=1, max_length=64, pattern=r"^rev_[0-9a-z]+$", title="Review Id", description="`rev_...`"
)
_DECISION_REASON = text_schema(
    1, MAX_DECISION_REASON, title="Reason", description="Why (kept in the referral's audit trail)."
)


class ReviewQuery(Paging):
    campaign_id: Annotated[
        Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None,
        msgspec.Meta(title="Campaign Id", description="Only this campaign's items."),
    ] = None
    kind: Annotated[ReviewKind | None, msgspec.Meta(title="Kind", description="`fraud` or `clawback`.")] = (
        None
    )
    reason: Annotated[
        Annotated[str, msgspec.Meta(max_length=64)] | None,
        msgspec.Meta(
            title="Reason",
            description="Only items with this reason code (a fraud reason, `clawback_needed`).",
        ),
    ] = None
    older_than: Annotated[
        Annotated[int, msgspec.Meta(ge=0, le=10 * 366 * 86400)] | None,
        msgspec.Meta(title="Older Than", description="Only items open for longer than this many seconds."),
    ] = None

    def __post_init__(self) -> None:
        if self.reason is not None and self.reason not in REVIEW_REASONS:
            raise FieldRefused("reason", "not a reason code")


class ReviewPath(Record):
    review_id: Annotated[str, _REVIEW_ID]


class DecisionRequest(Record, forbid_unknown_fields=True):
    reason: Annotated[str, _DECISION_REASON]

    def __post_init__(self) -> None:
        strip(self, "reason", 1, MAX_DECISION_REASON)


class BulkDecisionRequest(Record, forbid_unknown_fields=True):
    decision: Annotated[Decision, msgspec.Meta(title="Decision", description="`approve` or `reject`.")]
    reason: Annotated[str, _DECISION_REASON]
    review_ids: Annotated[
        list[Annotated[str, _REVIEW_ID]],
        msgspec.Meta(min_length=1, max_length=MAX_BULK, title="Review Ids", description="Up to 25."),
    ]

    def __post_init__(self) -> None:
        strip(self, "reason", 1, MAX_DECISION_REASON)
        if len(set(self.review_ids)) != len(self.review_ids):
            raise FieldRefused("review_ids", "each review id once")
