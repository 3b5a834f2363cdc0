"""The server API (/v1/...): authenticate the API key, parse, call one service, answer."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
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
from referral_engine.services.referrals import NewSignup
from referral_engine.services.signals import QualifyRequest
from referral_engine.services.subscriptions import MAX_SAMPLES, NewSubscription
from referral_engine.settings import get_settings
from referral_engine.web.errors import Unauthorized
from referral_engine.web.requests import API_MAX_BODY_BYTES, check_size, json_object
from referral_engine.web.resolver import base_url, json_response, new_resolver
from referral_engine.web.views import (
    campaign_view,
    connection_view,
    history_view,
    participant_view,
    referral_view,
)

app = new_resolver(logger)


class ReferralListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: ReferralStatus | None = None
    sort: Literal["joined_at", "qualified_at"] = "joined_at"
    order: Literal["asc", "desc"] = "desc"
    limit: Annotated[int, Field(ge=1, le=100)] = 50
    cursor: Annotated[str, Field(max_length=2048)] | None = None


def authenticate(resolver: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[Any]:
    if not wiring.api_keys().authenticate(resolver.current_event.headers.get("authorization")):
        raise Unauthorized("a valid API key is required: `Authorization: Bearer <key>`")
    return next_middleware(resolver)


app.use(middlewares=[authenticate])


def _body() -> dict[str, Any]:
    body = app.current_event.decoded_body
    check_size(body, API_MAX_BODY_BYTES)
    return json_object(body)


def _base() -> str:
    context = app.current_event.request_context
    return base_url(get_settings().public_base_url, context.domain_name, context.stage)


def _json(status: int, payload: dict[str, Any]) -> Response[str]:
    return json_response(status, json.dumps(payload))


@app.post("/v1/campaigns")
def create_campaign() -> Response[str]:
    campaign = wiring.campaigns().create(NewCampaign.model_validate(_body()))
    logger.info("campaign created", extra={"campaign_id": campaign.id})
    return _json(201, campaign_view(campaign, _base()))


@app.get("/v1/campaigns/<campaign_id>")
def get_campaign(campaign_id: str) -> Response[str]:
    return _json(200, campaign_view(wiring.campaigns().get(campaign_id), _base()))


@app.post("/v1/campaigns/<campaign_id>/advocates")
def enrol_advocate(campaign_id: str) -> Response[str]:
    participant, created = wiring.campaigns().enrol_advocate(campaign_id, NewAdvocate.model_validate(_body()))
    logger.info("advocate enrolled", extra={"code": participant.code, "new": created})
    return _json(201 if created else 200, participant_view(participant, _base()))


@app.get("/v1/campaigns/<campaign_id>/referrals")
def list_referrals(campaign_id: str) -> Response[str]:
    query = ReferralListQuery.model_validate(app.current_event.query_string_parameters or {})
    page = wiring.referrals().list(
        campaign_id,
        status=query.status,
        sort=query.sort,
        descending=query.order == "desc",
        limit=query.limit,
        cursor=query.cursor,
    )
    base = _base()
    return _json(
        200, {"items": [referral_view(r, base) for r in page.items], "next_cursor": page.next_cursor}
    )


@app.post("/v1/referrals")
def sign_up() -> Response[str]:
    referral, created = wiring.referrals().sign_up(NewSignup.model_validate(_body()), actor="api")
    logger.info("referral recorded", extra={"referral_id": referral.id, "new": created})
    count(Count.SIGNUPS, int(created))
    return _json(201 if created else 200, referral_view(referral, _base()))


@app.get("/v1/referrals/<referral_id>")
def get_referral(referral_id: str) -> Response[str]:
    return _json(200, history_view(wiring.referrals().history(referral_id), _base()))


@app.post("/v1/referrals/<referral_id>/qualify")
def qualify(referral_id: str) -> Response[str]:
    signal, accepted = wiring.signals().qualify_referral(referral_id, QualifyRequest.model_validate(_body()))
    logger.info("qualification accepted", extra={"referral_id": referral_id, "duplicate": not accepted})
    return _json(202, {"referral_id": referral_id, "signal_id": signal.key, "duplicate": not accepted})


@app.post("/v1/campaigns/<campaign_id>/connections")
def create_connection(campaign_id: str) -> Response[str]:
    connection, secret = wiring.connections().create(campaign_id, NewConnection.model_validate(_body()))
    logger.info("connection created", extra={"connection_id": connection.id, "source": connection.source})
    return _json(201, connection_view(connection, _base(), secret))


@app.get("/v1/campaigns/<campaign_id>/connections")
def list_connections(campaign_id: str) -> Response[str]:
    base = _base()
    return _json(
        200, {"items": [connection_view(c, base) for c in wiring.connections().of_campaign(campaign_id)]}
    )


@app.get("/v1/connections/<connection_id>")
def get_connection(connection_id: str) -> Response[str]:
    return _json(200, connection_view(wiring.connections().get(connection_id), _base()))


@app.post("/v1/connections/<connection_id>/rotate-secret")
def rotate_secret(connection_id: str) -> Response[str]:
    rotation = SecretRotation.model_validate(_body())
    connection, secret = wiring.connections().rotate_secret(connection_id, rotation)
    logger.info("connection secret rotated", extra={"connection_id": connection.id})
    return _json(200, connection_view(connection, _base(), secret))


@app.delete("/v1/connections/<connection_id>")
def delete_connection(connection_id: str) -> Response[str]:
    wiring.connections().delete(connection_id)
    logger.info("connection deleted", extra={"connection_id": connection_id})
    return Response(status_code=204, body="")


# ------------------------------------------------------------- REST hooks (Zapier instant triggers)


class SampleQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    campaign_id: Annotated[str, Field(max_length=64)] | None = None
    limit: Annotated[int, Field(ge=1, le=MAX_SAMPLES)] = 3


def _subscription_view(subscription: Subscription) -> dict[str, Any]:
    return subscription.model_dump(mode="json", exclude={"base_url"})


@app.post("/v1/hooks/subscriptions")
def subscribe_hook() -> Response[str]:
    request = NewSubscription.model_validate(_body())
    subscription, created = wiring.subscriptions().subscribe(request, base_url=_base())
    logger.info(
        "hook subscribed",
        extra={"subscription_id": subscription.id, "event": subscription.event, "new": created},
    )
    return _json(201 if created else 200, _subscription_view(subscription))


@app.delete("/v1/hooks/subscriptions/<subscription_id>")
def unsubscribe_hook(subscription_id: str) -> Response[str]:
    existed = wiring.subscriptions().unsubscribe(subscription_id)
    logger.info("hook unsubscribed", extra={"subscription_id": subscription_id, "existed": existed})
    return Response(status_code=204, body="")


@app.get("/v1/hooks/samples/<event>")
def hook_samples(event: str) -> Response[str]:
    """Zapier's `performList`: a JSON array, newest first, shaped as the hook delivers."""
    if event not in SUBSCRIPTION_EVENTS:
        raise NotFound(f"no hook event {event!r}: one of {', '.join(SUBSCRIPTION_EVENTS)}")
    hook_event: SubscriptionEvent = event
    query = SampleQuery.model_validate(app.current_event.query_string_parameters or {})
    samples = wiring.subscriptions().samples(
        hook_event, campaign_id=query.campaign_id or None, limit=query.limit, base_url=_base()
    )
    return json_response(200, json.dumps([sample.json_body() for sample in samples]))


@publish_metrics
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
