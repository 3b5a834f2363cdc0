"""The server API (/v1/...): authenticate the API key, validate the typed request, call a service, answer."""

from __future__ import annotations

import json
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal

import msgspec
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from referral_engine import wiring
from referral_engine.domain.errors import NotFound
from referral_engine.domain.models import ReferralStatus
from referral_engine.domain.subscriptions import SUBSCRIPTION_EVENTS, Subscription, SubscriptionEvent
from referral_engine.observability import Count, count, logger, publish_metrics
from referral_engine.services.campaigns import NewAdvocate, NewCampaign
from referral_engine.services.connections import NewConnection, SecretRotation
from referral_engine.services.qualify_request import QualifyRequest, ReverseRequest
from referral_engine.services.referrals import NewSignup
from referral_engine.services.subscription_request import NewSubscription
from referral_engine.services.subscriptions import MAX_SAMPLES
from referral_engine.settings import get_settings
from referral_engine.web.auth import requires
from referral_engine.web.contract import API_KEY, answers
from referral_engine.web.idempotency import honour_idempotency_keys
from referral_engine.web.pages import Page, PageQuery, page_of, page_view
from referral_engine.web.requests import base_url
from referral_engine.web.resolver import except_on, json_response, new_resolver, validate_request
from referral_engine.web.views import (
    campaign_view,
    connection_view,
    history_view,
    participant_view,
    referral_view,
)

OPENAPI_PATH = "/v1/openapi.json"
OPENAPI_DOCUMENT = FilePath(__file__).with_name("openapi.json")  # docs/openapi.json, packaged with us

app = new_resolver(logger)

# Every route's errors beyond its own: no key, a refused parameter; with a body, also the body's.
KEYED = (401, 422)
WITH_BODY = (*KEYED, 400, 413, 415)

CampaignId = Annotated[str, Path(description="The campaign's id (`cmp_...`).", max_length=64)]
ReferralId = Annotated[str, Path(description="The referral's id (`ref_...`).", max_length=64)]
ConnectionId = Annotated[str, Path(description="The connection's id (`con_...`).", max_length=64)]


class ReferralListQuery(PageQuery):
    status: ReferralStatus | None = Field(default=None, description="Only referrals in this status.")
    sort: Literal["joined_at", "qualified_at"] = "joined_at"
    order: Literal["asc", "desc"] = "desc"


class SampleQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    campaign_id: Annotated[str, Field(max_length=64)] | None = None
    limit: Annotated[int, Field(ge=1, le=MAX_SAMPLES)] = 3


def authenticate(resolver: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[Any]:
    return requires("server", wiring.api_keys)(resolver, next_middleware)


app.use(
    middlewares=[
        except_on({OPENAPI_PATH}, authenticate),
        honour_idempotency_keys(wiring.idempotency_records),
        validate_request,
    ]
)


def _base() -> str:
    context = app.current_event.request_context
    return base_url(get_settings().public_base_url, context.domain_name, context.stage)


def _json(status: int, payload: dict[str, Any]) -> Response[str]:
    return json_response(status, json.dumps(payload))


@app.post(
    "/v1/campaigns",
    summary="Create a campaign",
    description="Its reward rule, landing URL and milestone; the answer carries its generic hook URL.",
    tags=["campaigns"],
    security=API_KEY,
    responses=answers({201: "The campaign."}, *WITH_BODY),
)
def create_campaign(campaign: Annotated[NewCampaign, Body()]) -> Response[str]:
    created = wiring.campaigns().create(campaign)
    logger.info("campaign created", extra={"campaign_id": created.id})
    return _json(201, campaign_view(created, _base()))


@app.get(
    "/v1/campaigns/<campaign_id>",
    summary="Show a campaign",
    tags=["campaigns"],
    security=API_KEY,
    responses=answers({200: "The campaign."}, *KEYED, 404),
)
def get_campaign(campaign_id: CampaignId) -> Response[str]:
    return _json(200, campaign_view(wiring.campaigns().get(campaign_id), _base()))


@app.post(
    "/v1/campaigns/<campaign_id>/hook-secret",
    summary="Make or rotate the generic hook's signing secret",
    description="A new `whsec_…` secret (Standard Webhooks), answered once as `hook_secret`. From then on "
    "the generic hook refuses unsigned calls; the secret it replaces still signs for 24 hours.",
    tags=["campaigns"],
    security=API_KEY,
    responses=answers({201: "The campaign, with its new hook secret."}, *KEYED, 404, 409),
)
def rotate_hook_secret(campaign_id: CampaignId) -> Response[str]:
    campaign, secret = wiring.hook_signing().rotate_secret(campaign_id)
    logger.info("hook secret rotated", extra={"campaign_id": campaign.id})
    return _json(201, campaign_view(campaign, _base(), hook_secret=secret))


@app.post(
    "/v1/campaigns/<campaign_id>/rotate-hook-url",
    summary="Rotate the generic hook's URL",
    description="A new `hook_url`; the old one answers 404 at once.",
    tags=["campaigns"],
    security=API_KEY,
    responses=answers({200: "The campaign, with its new hook URL."}, *KEYED, 404, 409),
)
def rotate_hook_url(campaign_id: CampaignId) -> Response[str]:
    campaign = wiring.hook_signing().rotate_url(campaign_id)
    logger.info("hook URL rotated", extra={"campaign_id": campaign.id})
    return _json(200, campaign_view(campaign, _base()))


@app.post(
    "/v1/campaigns/<campaign_id>/advocates",
    summary="Enrol an advocate",
    description="Idempotent on the e-mail address: the same person keeps one code and share URL.",
    tags=["campaigns"],
    security=API_KEY,
    responses=answers({201: "A new advocate.", 200: "The advocate enrolled before."}, *WITH_BODY, 404),
)
def enrol_advocate(campaign_id: CampaignId, advocate: Annotated[NewAdvocate, Body()]) -> Response[str]:
    participant, created = wiring.campaigns().enrol_advocate(campaign_id, advocate)
    logger.info("advocate enrolled", extra={"code": participant.code, "new": created})
    return _json(201 if created else 200, participant_view(participant, _base()))


@app.get(
    "/v1/campaigns/<campaign_id>/referrals",
    summary="List a campaign's referrals",
    description="Newest first unless sorted otherwise; a page at a time.",
    tags=["referrals"],
    security=API_KEY,
    responses=answers({200: "A page of referrals."}, *KEYED, 400, 404, body=Page),
)
def list_referrals(campaign_id: CampaignId, query: Annotated[ReferralListQuery, Query()]) -> Response[str]:
    page = wiring.referrals().list(
        campaign_id,
        status=query.status,
        sort=query.sort,
        descending=query.order == "desc",
        limit=query.limit,
        cursor=query.cursor,
    )
    base = _base()
    return _json(200, page_view([referral_view(r, base) for r in page.items], page.next_cursor))


@app.post(
    "/v1/referrals",
    summary="Record a signup",
    description="The referred friend signed up with an advocate's code; the first referral of a friend wins. "
    "The campaign's fraud checks judge a new one: a rejection is a 422 `fraud_rejected` naming its `reasons` "
    "(only its audit is written); one they send to review is created `in_review` and not paid before an "
    "admin's decision. `ip` and `user_agent` (the visitor's) are kept only as keyed fingerprints.",
    tags=["referrals"],
    security=API_KEY,
    responses=answers({201: "A new referral.", 200: "The friend's existing referral."}, *WITH_BODY, 404, 409),
)
def sign_up(signup: Annotated[NewSignup, Body()]) -> Response[str]:
    referral, created = wiring.referrals().sign_up(signup, actor="api")
    logger.info("referral recorded", extra={"referral_id": referral.id, "new": created})
    count(Count.SIGNUPS, int(created))
    return _json(201 if created else 200, referral_view(referral, _base()))


@app.get(
    "/v1/referrals/<referral_id>",
    summary="Show a referral",
    description="With its rewards.",
    tags=["referrals"],
    security=API_KEY,
    responses=answers({200: "The referral."}, *KEYED, 404),
)
def get_referral(referral_id: ReferralId) -> Response[str]:
    return _json(200, history_view(wiring.referrals().history(referral_id), _base()))


@app.post(
    "/v1/referrals/<referral_id>/qualify",
    summary="Report a qualifying event",
    description="Stored at once and applied asynchronously; deduplicated on `event_id`.",
    tags=["referrals"],
    security=API_KEY,
    responses=answers({202: "Accepted (or a duplicate of an accepted event)."}, *WITH_BODY, 404),
)
def qualify(referral_id: ReferralId, event: Annotated[QualifyRequest | None, Body()] = None) -> Response[str]:
    signal, accepted = wiring.signals().qualify_referral(referral_id, event or QualifyRequest())
    logger.info("qualification accepted", extra={"referral_id": referral_id, "duplicate": not accepted})
    return _json(202, {"referral_id": referral_id, "signal_id": signal.key, "duplicate": not accepted})


@app.post(
    "/v1/referrals/<referral_id>/reverse",
    summary="Report a reversal",
    description="A refund, a chargeback or a cancelled order undoes the referral's qualification: stored "
    "at once and applied asynchronously (a qualified or rewarded referral is reversed, its rewards clawed "
    "back; one still pending holds it until the payment it undoes comes); deduplicated on `event_id`.",
    tags=["referrals"],
    security=API_KEY,
    responses=answers({202: "Accepted (or a duplicate of an accepted reversal)."}, *WITH_BODY, 404),
)
def reverse(referral_id: ReferralId, reversal: Annotated[ReverseRequest, Body()]) -> Response[str]:
    signal, accepted = wiring.signals().reverse_referral(referral_id, reversal)
    logger.info("reversal accepted", extra={"referral_id": referral_id, "duplicate": not accepted})
    return _json(
        202,
        {
            "referral_id": referral_id,
            "signal_id": signal.key,
            "reason": signal.reason,
            "duplicate": not accepted,
        },
    )


@app.post(
    "/v1/campaigns/<campaign_id>/connections",
    summary="Connect a vendor",
    description="The answer carries the connection's hook URL and, once, the secret we generated.",
    tags=["connections"],
    security=API_KEY,
    responses=answers({201: "The connection."}, *WITH_BODY, 404),
)
def create_connection(campaign_id: CampaignId, connection: Annotated[NewConnection, Body()]) -> Response[str]:
    created, secret = wiring.connections().create(campaign_id, connection)
    logger.info("connection created", extra={"connection_id": created.id, "source": created.source})
    return _json(201, connection_view(created, _base(), secret))


@app.get(
    "/v1/campaigns/<campaign_id>/connections",
    summary="List a campaign's connections",
    tags=["connections"],
    security=API_KEY,
    responses=answers({200: "A page of connections."}, *KEYED, 400, 404, body=Page),
)
def list_connections(campaign_id: CampaignId, query: Annotated[PageQuery, Query()]) -> Response[str]:
    connections, next_cursor = page_of(wiring.connections().of_campaign(campaign_id), query, lambda c: c.id)
    base = _base()
    return _json(200, page_view([connection_view(c, base) for c in connections], next_cursor))


@app.get(
    "/v1/connections/<connection_id>",
    summary="Show a connection",
    tags=["connections"],
    security=API_KEY,
    responses=answers({200: "The connection (never its secret)."}, *KEYED, 404),
)
def get_connection(connection_id: ConnectionId) -> Response[str]:
    return _json(200, connection_view(wiring.connections().get(connection_id), _base()))


@app.post(
    "/v1/connections/<connection_id>/rotate-secret",
    summary="Rotate a connection's secret",
    description="Give the vendor's new secret, or none to have one generated (answered once).",
    tags=["connections"],
    security=API_KEY,
    responses=answers({200: "The connection."}, *WITH_BODY, 404, 409),
)
def rotate_secret(
    connection_id: ConnectionId, rotation: Annotated[SecretRotation | None, Body()] = None
) -> Response[str]:
    connection, secret = wiring.connections().rotate_secret(connection_id, rotation or SecretRotation())
    logger.info("connection secret rotated", extra={"connection_id": connection.id})
    return _json(200, connection_view(connection, _base(), secret))


@app.delete(
    "/v1/connections/<connection_id>",
    summary="Delete a connection",
    tags=["connections"],
    security=API_KEY,
    responses=answers({204: "Deleted."}, *KEYED, 404),
)
def delete_connection(connection_id: ConnectionId) -> Response[str]:
    wiring.connections().delete(connection_id)
    logger.info("connection deleted", extra={"connection_id": connection_id})
    return Response(status_code=204, body="")


# ------------------------------------------------------------- REST hooks (Zapier instant triggers)


def _subscription_view(subscription: Subscription) -> dict[str, Any]:
    view: dict[str, Any] = msgspec.to_builtins(subscription)
    del view["base_url"]  # ours (for share links), not the subscriber's
    return view


@app.post(
    "/v1/hooks/subscriptions",
    summary="Subscribe a REST hook",
    description="Zapier's `performSubscribe`: deliver an event's payloads to `target_url`.",
    tags=["hooks"],
    security=API_KEY,
    responses=answers({201: "A new subscription.", 200: "The same subscription, made before."}, *WITH_BODY),
)
def subscribe_hook(subscription: Annotated[NewSubscription, Body()]) -> Response[str]:
    subscribed, created = wiring.subscriptions().subscribe(subscription, base_url=_base())
    logger.info(
        "hook subscribed",
        extra={"subscription_id": subscribed.id, "event": subscribed.event, "new": created},
    )
    return _json(201 if created else 200, _subscription_view(subscribed))


@app.delete(
    "/v1/hooks/subscriptions/<subscription_id>",
    summary="Unsubscribe a REST hook",
    description="Zapier's `performUnsubscribe`; an unknown subscription is gone already (204).",
    tags=["hooks"],
    security=API_KEY,
    responses=answers({204: "Gone."}, *KEYED),
)
def unsubscribe_hook(
    subscription_id: Annotated[str, Path(description="The subscription's id.", max_length=64)],
) -> Response[str]:
    existed = wiring.subscriptions().unsubscribe(subscription_id)
    logger.info("hook unsubscribed", extra={"subscription_id": subscription_id, "existed": existed})
    return Response(status_code=204, body="")


@app.get(
    "/v1/hooks/samples/<event>",
    summary="Sample payloads of a hook event",
    description="Zapier's `performList`: a JSON array, newest first, shaped as the hook delivers.",
    tags=["hooks"],
    security=API_KEY,
    responses={
        **answers({}, *KEYED, 404),
        200: {"description": "The samples.", "content": {"application/json": {"schema": {"type": "array"}}}},
    },
)
def hook_samples(
    event: Annotated[str, Path(description=f"One of {', '.join(SUBSCRIPTION_EVENTS)}.", max_length=64)],
    query: Annotated[SampleQuery, Query()],
) -> Response[str]:
    if event not in SUBSCRIPTION_EVENTS:
        raise NotFound(f"no hook event {event!r}: one of {', '.join(SUBSCRIPTION_EVENTS)}")
    hook_event: SubscriptionEvent = event
    samples = wiring.subscriptions().samples(
        hook_event, campaign_id=query.campaign_id or None, limit=query.limit, base_url=_base()
    )
    return json_response(200, json.dumps([sample.json_body() for sample in samples]))


@app.get(
    OPENAPI_PATH,
    summary="This API's OpenAPI document",
    tags=["meta"],
    responses={200: {"description": "The OpenAPI 3 document.", "content": {"application/json": {}}}},
)
def openapi_document() -> Response[str]:
    return json_response(200, OPENAPI_DOCUMENT.read_text(), headers={"Cache-Control": "public, max-age=300"})


@publish_metrics
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
