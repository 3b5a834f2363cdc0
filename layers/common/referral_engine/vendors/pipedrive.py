"""Pipedrive: general webhooks on deals, v2 (the default since 2025) and v1, with HTTP Basic auth.

Pipedrive signs nothing; the webhook's "HTTP Auth" username and password travel in an
`Authorization: Basic` header on every delivery. The password is the connection's secret, the
username sits in its settings, and both are compared in constant time.

The milestone is a deal state — `{"status": "won"}` or `{"stage_id": 5}` — and any deal event whose
deal *is* in that state becomes a qualify signal, whatever `previous` says: a missed or late
transition event must not lose the milestone, and a later "stage went back" cannot undo it (it is
simply not a signal). The event id is the business fact itself, `deal-{id}-won` or
`deal-{id}-stage-{stage id}`: v1 carries no event id at all (its `meta.id` is the deal's id), and
keying on the fact collapses retries, v1/v2 webhooks running side by side and every later edit of a
won deal into one stored signal.

Undone milestones (`settings.reverse_when_undone`, docs/adr/0021): a deal event carries the deal's
previous values too (v2: `previous` holds the fields that changed,
https://pipedrive.readme.io/docs/guide-for-webhooks-v2; v1: `previous` is the whole deal before the
change). A won deal that is lost or reopened (`previous.status` won, now not) undoes a `{"status":
"won"}` milestone; a deal that is lost (`previous.status` other than lost) undoes a stage milestone —
moving on to a later stage does not. The reversal applies only to a referral that reached the milestone
(qualified or rewarded); on a pending one it is an audit note, never held.

See docs/vendors/pipedrive.md.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

import msgspec

from referral_engine.domain.identifiers import normalise_code
from referral_engine.domain.json_text import read_json
from referral_engine.domain.models import Connection, Signal, SignalKind, SignalMatch
from referral_engine.domain.records import Invalid, Record, problems
from referral_engine.domain.webhooks import (
    InboundRequest,
    MalformedWebhook,
    Normalised,
    VendorReply,
    WebhookRefused,
    same,
    state_event_id,
)

SOURCE = "pipedrive"
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_CUSTOM_FIELD_KEY = re.compile(r"^[0-9a-f]{40}$")  # Pipedrive's custom field API keys
_USERNAME = re.compile(r"^[^:\x00-\x1f\x7f]{1,128}$")  # RFC 7617: no colon, no control characters
_ADDED = {"create", "change", "added", "updated", "merged"}  # v2 and v1 actions that carry a deal


class _Milestone(Record, forbid_unknown_fields=True):
    status: Literal["won"] | None = None
    stage_id: Annotated[int, msgspec.Meta(gt=0)] | None = None


class _Settings(Record, forbid_unknown_fields=True):
    username: str
    match: Literal["person", "deal"] = "person"
    code_field: str | None = None
    reverse_when_undone: bool = False


class _Rule(Record):
    """What `validate_connection` checks, so that a problem is located as `milestone.…`/`settings.…`."""

    milestone: _Milestone
    settings: _Settings


class PipedriveAdapter:
    source = SOURCE
    vendor_issues_secret = False

    def validate_connection(self, milestone: dict[str, Any], settings: dict[str, Any]) -> None:
        try:  # strict: a stage id is a number, not text
            checked = msgspec.convert({"milestone": milestone, "settings": settings}, _Rule, strict=True)
        except Invalid as error:
            raise ValueError(problems(error)) from None
        rule, options = checked.milestone, checked.settings
        if (rule.status is None) == (rule.stage_id is None):
            raise ValueError('a pipedrive milestone is {"status": "won"} or {"stage_id": <stage id>}')
        if not _USERNAME.fullmatch(options.username):
            raise ValueError("settings.username: 1-128 characters, no colon (HTTP Basic auth)")
        if options.code_field is not None and not _CUSTOM_FIELD_KEY.fullmatch(options.code_field):
            raise ValueError("settings.code_field: the custom field's 40-character API key")

    def verify(self, request: InboundRequest, secret: str, connection: Connection) -> None:
        scheme, _, token = (request.header("authorization") or "").strip().partition(" ")
        if scheme.lower() != "basic":
            raise WebhookRefused("Pipedrive webhooks must carry HTTP Basic auth credentials")
        try:
            username, colon, password = base64.b64decode(token.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise WebhookRefused("the Basic auth credentials are not readable") from None
        expected_user = connection.settings.get("username")
        user_ok = isinstance(expected_user, str) and same(expected_user, username)
        password_ok = same(secret, password)
        if not (colon and user_ok and password_ok):
            raise WebhookRefused("the Basic auth username or password is not this connection's")

    def normalise(self, request: InboundRequest, connection: Connection) -> Normalised:
        body = _json_object(request.body)
        meta = body.get("meta")
        if not isinstance(meta, dict):
            raise MalformedWebhook("not a Pipedrive webhook: it has no `meta` block")
        if str(meta.get("version", "")).startswith("2"):
            entity, action, deal = meta.get("entity"), meta.get("action"), body.get("data")
            object_id = meta.get("entity_id")  # v2's meta.id is the event's id
        elif meta.get("v") == 1 or body.get("v") == 1 or "object" in meta:
            entity, action, deal = meta.get("object"), meta.get("action"), body.get("current")
            object_id = meta.get("id")  # v1's meta.id is the object's id
        else:
            raise MalformedWebhook("not a Pipedrive webhook v1 or v2 payload")
        if entity != "deal":
            return Normalised([], [f"{entity} events are not deal events"])
        if action not in _ADDED or not isinstance(deal, dict):
            return Normalised([], [f"a deal {action} event carries no deal state"])

        milestone = connection.milestone
        deal_id = _identifier(deal.get("id")) or _identifier(object_id)
        if deal_id is None:
            raise MalformedWebhook("the deal has no id")
        status, stage_id = milestone.get("status"), milestone.get("stage_id")
        if status:
            reached = deal.get("status") == status
            event_id = f"deal-{deal_id}-{status}"
            happened = deal.get("won_time")
        else:
            reached = _identifier(deal.get("stage_id")) == str(stage_id)
            event_id = f"deal-{deal_id}-stage-{stage_id}"
            happened = deal.get("stage_change_time")
        # A deal lost in the milestone stage is still "in" it: the loss decides, not the stage.
        undone = _undone(body.get("previous"), deal, deal_id, status, None if status else str(stage_id))
        if undone is not None and connection.settings.get("reverse_when_undone") is True:
            return Normalised([self._reversal(request, connection, meta, deal, deal_id, event_id, undone)])
        if not reached:
            return Normalised([], [f"deal {deal_id} has not reached the milestone"])

        amount, currency = _money(deal)
        signal = Signal(
            source=SOURCE,
            event_id=state_event_id(event_id, amount, currency),
            campaign_id=connection.campaign_id,
            kind=SignalKind.QUALIFY,
            match=_match(deal, deal_id, connection.settings),
            amount=amount,
            currency=currency,
            occurred_at=_time(happened) or _time(meta.get("timestamp")),
            received_at=request.received_at,
            payment_ids=_deal_ids(deal_id),
        )
        return Normalised([signal])

    @staticmethod
    def _reversal(
        request: InboundRequest,
        connection: Connection,
        meta: dict[str, Any],
        deal: dict[str, Any],
        deal_id: str,
        reached_id: str,
        reason: str,
    ) -> Signal:
        """Keyed on the change's time: retries and v1/v2 twins collapse, a second loss is its own event."""
        changed = _time(deal.get("update_time")) or _time(meta.get("timestamp"))
        return Signal(
            source=SOURCE,
            event_id=f"{reached_id}-undone" + (f"-{changed.isoformat()}" if changed else ""),
            campaign_id=connection.campaign_id,
            kind=SignalKind.REVERSE,
            match=_match(deal, deal_id, connection.settings),
            occurred_at=_time(deal.get("lost_time")) or changed,
            received_at=request.received_at,
            reason=reason,
            payment_ids=_deal_ids(deal_id),
        )

    def reply(self, normalised: Normalised) -> VendorReply:
        # Pipedrive wants any 2xx within 10 s; anything else is retried and counts towards a ban.
        return VendorReply(200, json.dumps({"accepted": len(normalised.signals)}))


def _deal_ids(deal_id: str) -> list[str]:
    """The deal, as the id a reversal must share with the qualification (domain/reversals.same_payment):
    the loss of another deal of the same person does not undo this one."""
    return [f"deal_{deal_id}"]


def _undone(
    previous: Any, deal: dict[str, Any], deal_id: str, won_milestone: Any, milestone_stage: str | None
) -> str | None:
    """Why this change undoes the milestone, or None when it does not (or cannot tell). A stage
    milestone is undone by a loss in that stage: a webhook names no pipeline order, so a deal lost in
    any other stage cannot be told to have passed it."""
    if not isinstance(previous, dict) or "status" not in previous:
        return None  # the status did not change (v2), or no previous state was sent
    was, now = previous.get("status"), deal.get("status")
    if was == now:
        return None
    if won_milestone and was == "won":
        return f"Pipedrive deal {deal_id} went from won to {now}"
    if not won_milestone and now == "lost" and _identifier(deal.get("stage_id")) == milestone_stage:
        return f"Pipedrive deal {deal_id} was lost (from {was}) in the milestone stage"
    return None


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        body = read_json(raw or b"{}")
    except ValueError as error:
        raise MalformedWebhook(f"not JSON: {error}") from error
    if not isinstance(body, dict):
        raise MalformedWebhook("the body is not a JSON object")
    return body


def _identifier(value: Any) -> str | None:
    """Pipedrive ids arrive as numbers (data, v1) or strings (v2 meta); v1 lookups as {"value": id}."""
    if isinstance(value, dict):
        value = value.get("value")
    if isinstance(value, bool) or value is None:
        return None
    text = str(value).strip()
    return text if text and len(text) <= 64 else None


def _match(deal: dict[str, Any], deal_id: str, settings: dict[str, Any]) -> SignalMatch:
    """The person's id as stored at signup, `external_ids: {"pipedrive": "<person id>"}` (or the deal's,
    `{"pipedrive_deal": "<deal id>"}`: the two are separate number spaces, never confused), and the
    referral code from a custom deal field when one is configured."""
    by_deal = settings.get("match") == "deal"
    key = f"{SOURCE}_deal" if by_deal else SOURCE
    vendor_id = deal_id if by_deal else _identifier(deal.get("person_id"))
    code = None
    field = settings.get("code_field")
    if field:
        custom = deal.get("custom_fields")  # v2 nests them, v1 puts them on the deal itself
        fields: dict[str, Any] = custom if isinstance(custom, dict) and field in custom else deal
        raw = fields.get(field)
        if isinstance(raw, dict):
            raw = raw.get("value")
        code = normalise_code(raw) if isinstance(raw, str) else None
    return SignalMatch(external_id=f"{key}:{vendor_id}" if vendor_id else None, code=code)


def _money(deal: dict[str, Any]) -> tuple[Decimal | None, str | None]:
    value: Any = deal.get("value")
    currency: Any = deal.get("currency")
    if isinstance(value, dict):  # the shape v2 uses for leads: {"amount": 1, "currency": "EUR"}
        currency = value.get("currency")
        value = value.get("amount")
    amount = None
    if isinstance(value, int | float | str) and not isinstance(value, bool):
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            amount = None
        if amount is not None and not amount.is_finite():
            amount = None
    code = currency.upper() if isinstance(currency, str) else None
    return amount, code if code and _CURRENCY.fullmatch(code) else None


def _time(value: Any) -> datetime | None:
    """ISO 8601 (v2), "YYYY-MM-DD HH:MM:SS" in UTC (v1 deal times) or Unix seconds (v1 meta)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1_000_000 if value > 10**14 else value / 1000 if value > 10**11 else value
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return _time(int(text))
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


__all__ = ["PipedriveAdapter"]
