"""The click path: one write counts the click, and the redirect target never depends on it (ADR 0014).

- A container's first click on a code counts on the participant item itself: its conditional
  UpdateItem returns the landing URL in the same call, and an unknown code fails the condition.
- The container then knows the target (LandingTargets): later clicks count on one of the code's
  shard items, chosen at random, so a viral code is spread over CLICK_SHARDS partition keys.
- A throttled count is tried at once on other shards (SHARD_ATTEMPTS in all); a count that still
  fails is reported as lost, never raised. A first click whose write failed reads the target with
  one GetItem instead.

The same write keeps the visitor's fingerprints (docs/adr/0018): on the counted item, in one of
VISIT_SLOTS attributes chosen by the device, as `"<ip_…|-> <ua_…|-> <time of the latest click>"`, so
an item holds at most that many visitors (readers ignore those older than EVIDENCE_TTL_DAYS) and a
shard item stays under 1 KB: one write capacity unit per click, as before.

A repeat click (docs/adr/0023) is the same write on `repeat_clicks` instead of `clicks`; a click that
is not counted at all (a HEAD, a bot) only needs the target: none when the container knows it, else
one GetItem.

Deliberately free of pydantic and the other adapters, to keep track_click's cold start small.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from referral_engine.adapters.dynamodb.keys import Key, click_shard, participant
from referral_engine.domain.click_shards import Sampler, shards_to_try

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# What DynamoDB answers a write it refused for throughput: nothing was written, so another shard may
# take the click without counting it twice.
THROTTLED = frozenset(
    {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}
)


VISIT_SLOTS = 8


@dataclass(frozen=True)
class Visit:
    """A visitor's network and browser as fingerprints (`ip_…`, `ua_…`; domain/fingerprints.py)."""

    ip: str | None
    user_agent: str | None

    @property
    def slot(self) -> str:
        """The attribute this device's clicks are kept in: the same device always the same one."""
        digest = hashlib.blake2b(f"{self.ip}|{self.user_agent}".encode(), digest_size=2).digest()
        return f"visit_{int.from_bytes(digest) % VISIT_SLOTS}"

    def value(self, at_iso: str) -> dict[str, Any]:
        """The slot's value: both fingerprints (`-` for one unknown) and the click's time to the second."""
        return {"S": f"{self.ip or '-'} {self.user_agent or '-'} {at_iso[:19]}"}


def _visit_update(
    expression: str, values: dict[str, Any], visit: Visit | None, at_iso: str
) -> dict[str, Any]:
    """An UpdateItem's expression and placeholders, with the visit's slot set when there is one."""
    if visit is None:
        return {"UpdateExpression": expression, "ExpressionAttributeValues": values}
    return {
        "UpdateExpression": f"{expression}, #visit = :visit",
        "ExpressionAttributeValues": {**values, ":visit": visit.value(at_iso)},
        "ExpressionAttributeNames": {"#visit": visit.slot},
    }


class LandingUnavailable(Exception):
    """Neither the count nor the fallback read could tell where a code leads."""


@dataclass(frozen=True)
class Click:
    landing_url: str | None  # None: no such code
    lost: str | None = None  # why the click was not counted (an error code); None when it was


class LandingTargets:
    """code → landing URL, per container. A participant's landing URL is copied at enrolment and
    never changes, so an entry is only bounded in age (a deleted code stops redirecting within
    max_age_s) and in number (the least recently used is forgotten first)."""

    def __init__(
        self, max_codes: int = 10_000, max_age_s: float = 300.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._entries: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._max_codes, self._max_age_s, self._clock = max_codes, max_age_s, clock

    def get(self, code: str) -> str | None:
        entry = self._entries.get(code)
        if entry is None:
            return None
        url, stored_at = entry
        if self._clock() - stored_at > self._max_age_s:
            del self._entries[code]
            return None
        self._entries.move_to_end(code)
        return url

    def put(self, code: str, url: str) -> None:
        self._entries[code] = (url, self._clock())
        self._entries.move_to_end(code)
        while len(self._entries) > self._max_codes:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()


def _dynamo_key(key: Key) -> dict[str, dict[str, str]]:
    return {name: {"S": value} for name, value in key.items()}


def _error_code(error: Exception) -> str:
    return error.response["Error"]["Code"] if isinstance(error, ClientError) else type(error).__name__


class ClickCounter:
    def __init__(
        self, client: DynamoDBClient, table_name: str, targets: LandingTargets, rng: Sampler
    ) -> None:
        self._client, self._table_name, self._targets, self._rng = client, table_name, targets, rng

    def landing(self, code: str) -> str | None:
        """The target of a click that is not counted: known to the container, or read (one GetItem).
        Raises LandingUnavailable when it cannot be read."""
        landing_url = self._targets.get(code)
        if landing_url is None:
            landing_url = self._read_landing_url(code)
            if landing_url is not None:
                self._targets.put(code, landing_url)
        return landing_url

    def count(self, code: str, at_iso: str, visit: Visit | None = None, *, repeat: bool = False) -> Click:
        """Counts one click on `code` (on `repeat_clicks` for a repeat), with its visitor's
        fingerprints. Raises LandingUnavailable only when the target is unknown to this container and
        DynamoDB could neither count the click nor be read."""
        counter = "repeat_clicks" if repeat else "clicks"
        landing_url = self._targets.get(code)
        if landing_url is not None:
            return Click(landing_url, self._count_on_shards(code, at_iso, visit, counter))
        try:
            landing_url = self._count_on_participant(code, at_iso, visit, counter)
        except (ClientError, BotoCoreError) as error:
            if _error_code(error) == "ConditionalCheckFailedException":
                return Click(None)
            landing_url = self._read_landing_url(code)
            if landing_url is None:
                return Click(None)
            self._targets.put(code, landing_url)
            if _error_code(error) in THROTTLED:
                return Click(landing_url, self._count_on_shards(code, at_iso, visit, counter))
            return Click(landing_url, _error_code(error))  # it may have been written: not tried again
        self._targets.put(code, landing_url)
        return Click(landing_url)

    def _count_on_participant(self, code: str, at_iso: str, visit: Visit | None, counter: str) -> str:
        response = self._client.update_item(
            TableName=self._table_name,
            Key=_dynamo_key(participant(code)),
            ConditionExpression="attribute_exists(pk)",
            ReturnValues="ALL_NEW",
            **_visit_update(
                f"ADD {counter} :one SET last_click_at = :at",
                {":one": {"N": "1"}, ":at": {"S": at_iso}},
                visit,
                at_iso,
            ),
        )
        return response["Attributes"]["landing_url"]["S"]

    def _count_on_shards(self, code: str, at_iso: str, visit: Visit | None, counter: str) -> str | None:
        """None when counted; else the last error's code."""
        lost = None
        for shard in shards_to_try(self._rng):
            try:
                self._client.update_item(
                    **shard_update(self._table_name, code, shard, at_iso, visit, counter)
                )
            except (ClientError, BotoCoreError) as error:
                lost = _error_code(error)
                if lost not in THROTTLED:
                    return lost
            else:
                return None
        return lost

    def _read_landing_url(self, code: str) -> str | None:
        try:
            item = self._client.get_item(
                TableName=self._table_name,
                Key=_dynamo_key(participant(code)),
                ProjectionExpression="landing_url",
            ).get("Item")
        except (ClientError, BotoCoreError) as error:
            raise LandingUnavailable(_error_code(error)) from error
        return item["landing_url"]["S"] if item else None


def shard_update(
    table_name: str, code: str, shard: int, at_iso: str, visit: Visit | None = None, counter: str = "clicks"
) -> dict[str, Any]:
    """The UpdateItem that counts one click on a shard (created by its first click), on `counter`."""
    values = {":one": {"N": "1"}, ":entity": {"S": "click_shard"}, ":at": {"S": at_iso}}
    return {
        "TableName": table_name,
        "Key": _dynamo_key(click_shard(code, shard)),
        **_visit_update(
            f"ADD {counter} :one SET entity = :entity, last_click_at = :at", values, visit, at_iso
        ),
    }
