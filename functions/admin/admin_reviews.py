"""The review queue's admin routes (docs/adr/0019): list, show, approve, reject, decide in bulk.

Thin: the request's records checked (web/review_requests.py), one ReviewService call, its view. The
admin's identity (an IAM ARN, or the admin key) is who decided, in the item and the audit trail.
"""

from __future__ import annotations

import json
from typing import Any

from referral_engine import wiring
from referral_engine.domain.reviews import Decision
from referral_engine.observability import logger
from referral_engine.web.paging import page_view
from referral_engine.web.review_requests import BulkDecisionRequest, DecisionRequest, ReviewPath, ReviewQuery
from referral_engine.web.review_views import bulk_view, detail_view, review_view
from referral_engine.web.routes import Answer, Request, Route, answer, parse_fields
from referral_engine.web.security import ADMIN

GUARDED = (401, 403, 422)
WITH_BODY = (*GUARDED, 400, 413, 415)
_REVIEW = "/v1/admin/reviews/{review_id}"


def _json(status: int, payload: dict[str, Any]) -> Answer:
    return answer(status, json.dumps(payload))


def list_reviews(request: Request) -> Answer:
    query = parse_fields(ReviewQuery, request.query, "query")
    page = wiring.reviews().page(
        campaign_id=query.campaign_id,
        kind=query.kind,
        reason=query.reason,
        older_than_seconds=query.older_than,
        limit=query.limit,
        cursor=query.cursor,
    )
    return _json(200, page_view([review_view(item) for item in page.items], page.next_cursor))


def show_review(request: Request, review_id: str) -> Answer:
    return _json(200, detail_view(wiring.reviews().show(review_id)))


def _decide(request: Request, review_id: str, decision: Decision) -> Answer:
    body = request.required_json_body(DecisionRequest)
    decided = wiring.reviews().decide(review_id, decision, reason=body.reason, operator=str(request.actor))
    logger.info("review decided", extra={"review_id": review_id, "decision": decision.value})
    return _json(200, review_view(decided))


def approve_review(request: Request, review_id: str) -> Answer:
    return _decide(request, review_id, Decision.APPROVE)


def reject_review(request: Request, review_id: str) -> Answer:
    return _decide(request, review_id, Decision.REJECT)


def decide_reviews(request: Request) -> Answer:
    body = request.required_json_body(BulkDecisionRequest)
    outcomes = wiring.reviews().decide_many(
        body.review_ids, body.decision, reason=body.reason, operator=str(request.actor)
    )
    logger.info("reviews decided", extra={"decided": sum(o.status == 200 for o in outcomes)})
    return _json(200, bulk_view(outcomes))


def _route(*args: Any, **options: Any) -> Route:
    return Route(*args, **{**options, "security": ADMIN})


_DECISION = (
    "One transaction: the item (still open), the referral's or reward's move, the audit entry (who, "
    "when, `reason`). A fraud item approved goes back to `pending` and the qualifying signal held "
    "while in review is replayed, so it qualifies and is rewarded as any other; rejected, `rejected`. "
    "A clawback item approved records the reward `clawed_back`; rejected, the clawback is waived. "
    "`409 review_decided` when the item was decided already (another admin won)."
)

REVIEW_ROUTES = [
    _route(
        "GET",
        "/v1/admin/reviews",
        list_reviews,
        summary="List the review queue",
        description="Open items, oldest first; by campaign, kind, reason code, and age (`older_than`).",
        answers={200: "A page of review items."},
        errors=(*GUARDED, 400),
        query=ReviewQuery,
        answer_schema="Page",
    ),
    _route(
        "GET",
        _REVIEW,
        show_review,
        summary="Show a review item",
        description="The item, the referral with the fraud checks' evidence, its rewards, audit trail "
        "and held signal, and the advocate's history (their counts and recent referrals).",
        answers={200: "The review and what an admin needs to decide it."},
        errors=(*GUARDED, 404),
        path_parameters=ReviewPath,
    ),
    *(
        _route(
            "POST",
            f"{_REVIEW}/{verb}",
            handle,
            summary=f"{verb.capitalize()} a review item",
            description=_DECISION,
            answers={200: "The decided item."},
            errors=(*WITH_BODY, 404, 409),
            path_parameters=ReviewPath,
            body=DecisionRequest,
            body_required=True,
        )
        for verb, handle in (("approve", approve_review), ("reject", reject_review))
    ),
    _route(
        "POST",
        "/v1/admin/reviews/decisions",
        decide_reviews,
        summary="Decide up to 25 review items at once",
        description="Each item as its own decision: `results` says, per id, `status` 200 (decided, "
        "with the item), 404 (no such item) or 409 (decided already, with the error).",
        answers={200: "`results`: one per review id, in order."},
        errors=WITH_BODY,
        body=BulkDecisionRequest,
        body_required=True,
    ),
]
