"""What the review routes (and the `referrals reviews` commands, which print the same) show."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from referral_engine.domain.models import AuditEntry, Referral, utcnow
from referral_engine.domain.records import json_values
from referral_engine.domain.reviews import ReviewItem
from referral_engine.services.reviews import BulkOutcome, ReviewDetail
from referral_engine.web.errors import status_for


def review_view(item: ReviewItem, now: datetime | None = None) -> dict[str, Any]:
    view = json_values(item)
    view["age_seconds"] = round(item.age_seconds(now or utcnow()), 3)
    return view


def _referral(referral: Referral) -> dict[str, Any]:
    return json_values(referral, exclude={"correlation_id"})


def _evidence(audit: list[AuditEntry]) -> dict[str, Any] | None:
    """The fraud checks' verdict at signup: action, reason codes, each finding and what it saw."""
    created = next((entry for entry in audit if entry.action == "referral.created"), None)
    fraud = created.detail.get("fraud") if created else None
    return fraud if isinstance(fraud, dict) else None


def detail_view(detail: ReviewDetail) -> dict[str, Any]:
    history, advocate = detail.history, detail.advocate
    return {
        "review": review_view(detail.review),
        "referral": _referral(history.referral),
        "evidence": _evidence(history.audit),
        "held_signal": json_values(detail.held_signal) if detail.held_signal else None,
        "rewards": [json_values(reward) for reward in history.rewards],
        "audit": [json_values(entry) for entry in history.audit],
        "advocate": {
            "code": history.referral.advocate_code,
            "email": advocate.email if advocate else None,
            "clicks": advocate.clicks if advocate else None,
            "referrals": advocate.referrals if advocate else None,
            "rewards": advocate.rewards if advocate else None,
            "credit_balance": str(advocate.credit_balance) if advocate else None,
            "recent_referrals": [
                {
                    "id": referral.id,
                    "status": referral.status.value,
                    "joined_at": referral.joined_at.isoformat(),
                }
                for referral in detail.advocate_referrals
            ],
        },
    }


def bulk_view(outcomes: list[BulkOutcome]) -> dict[str, Any]:
    results = []
    for outcome in outcomes:
        result: dict[str, Any] = {"review_id": outcome.review_id, "status": outcome.status}
        if outcome.review is not None:
            result["review"] = review_view(outcome.review)
        if outcome.error is not None:
            result["error"] = {"code": outcome.error.code, "message": outcome.error.message}
            result["status"] = status_for(outcome.error)
        results.append(result)
    return {"results": results}
