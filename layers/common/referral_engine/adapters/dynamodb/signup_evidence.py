"""The fraud checks' evidence at signup (docs/adr/0018), each read a key or one bounded query:

- the participants under one canonical email: a partition per canonical form (`keys.canonical_email`),
  written with each participant;
- the devices a participant signed up on: a partition per code, items expiring after
  EVIDENCE_TTL_DAYS, the newest MAX_DEVICES read;
- velocity: a counter item per advocate and per network (its IP fingerprint) per UTC hour and day,
  incremented with each created referral and expiring two days later; read with one BatchGetItem;
- the audit entries of refused signups, in their own partition, listed per campaign on gsi1.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from referral_engine.adapters.dynamodb import keys
from referral_engine.adapters.dynamodb.codec import model_item, to_item, value
from referral_engine.adapters.dynamodb.table import Table
from referral_engine.domain.emails import canonical_email
from referral_engine.domain.fingerprints import EVIDENCE_TTL_DAYS
from referral_engine.domain.fraud_evidence import Device, KnownPerson, Person, RecentCounts
from referral_engine.domain.models import AuditEntry, Participant, Referral

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

    from referral_engine.ports import SignupTrace

MAX_DEVICES = 10
MAX_SAME_PERSON = 25  # the spellings of one mailbox a campaign may hold that one check looks at
_COUNTER_TTL = timedelta(days=2)


def _windows(at: datetime) -> tuple[str, str]:
    return f"H#{at:%Y-%m-%dT%H}", f"D#{at:%Y-%m-%d}"


def _counter_keys(advocate_code: str, network: str | None, at: datetime) -> list[dict[str, str]]:
    """The advocate's hour and day counters, then the network's (when it has a fingerprint)."""
    subjects = [f"advocate#{advocate_code}"] + ([f"network#{network}"] if network else [])
    return [keys.velocity(subject, window) for subject in subjects for window in _windows(at)]


def canonical_email_item(participant: Participant) -> dict[str, Any]:
    """The participant under its canonical email (written with the participant, never alone)."""
    canonical = canonical_email(participant.email)
    return to_item(
        {
            **keys.canonical_email(participant.campaign_id, canonical, participant.code),
            "entity": "canonical_email",
            "code": participant.code,
            "referral_id": participant.referral_id,
        }
    )


def trace_ops(table: Table, referral: Referral, trace: SignupTrace) -> list[TransactWriteItemTypeDef]:
    """The created referral's device and its counts, written in its transaction."""
    operations: list[TransactWriteItemTypeDef] = []
    device = trace.device
    if device is not None and device.fingerprints:
        expires_at = int((trace.at + timedelta(days=EVIDENCE_TTL_DAYS)).timestamp())
        item = {
            **keys.device(referral.referred_code, trace.at),
            "entity": "device",
            "ip": device.ip,
            "user_agent": device.user_agent,
            "expires_at": expires_at,
        }
        operations.append(table.put_op(to_item(item), new=False))
    network = device.ip if device else None
    expires_at = int((trace.at + _COUNTER_TTL).timestamp())
    for key in _counter_keys(referral.advocate_code, network, trace.at):
        update: dict[str, Any] = {
            "TableName": table.name,
            "Key": to_item(key),
            "UpdateExpression": "ADD signups :one SET entity = :entity, expires_at = :expires",
            "ExpressionAttributeValues": to_item({":one": 1, ":entity": "velocity", ":expires": expires_at}),
        }
        operations.append({"Update": update})  # type: ignore[typeddict-item]
    return operations


class DynamoSignupEvidence:
    def __init__(self, table: Table) -> None:
        self._table = table

    def known_people(self, campaign_id: str, canonical_email: str) -> list[KnownPerson]:
        items, _ = self._table.query(
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={
                ":pk": value(keys.canonical_email_partition(campaign_id, canonical_email))
            },
            Limit=MAX_SAME_PERSON,
        )
        person = Person(email=canonical_email)
        return [
            KnownPerson(id=item["referral_id"], role="referred", person=person)
            if item.get("referral_id")
            else KnownPerson(id=item["code"], role="advocate", person=person)
            for item in items
        ]

    def devices_of(self, code: str) -> tuple[Device, ...]:
        items, _ = self._table.query(
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": value(keys.devices_of(code))},
            ScanIndexForward=False,
            Limit=MAX_DEVICES,
        )
        return tuple(Device(ip=item.get("ip"), user_agent=item.get("user_agent")) for item in reversed(items))

    def recent_counts(self, advocate_code: str, network: str | None, at: datetime) -> RecentCounts:
        counter_keys = _counter_keys(advocate_code, network, at)
        found = {
            item["pk"]: int(item["signups"])
            for item in self._table.get_many(counter_keys, attributes="pk, signups")
        }
        counts = [found.get(key["pk"], 0) for key in counter_keys] + [0, 0]
        return RecentCounts(
            advocate_referrals_hour=counts[0],
            advocate_referrals_day=counts[1],
            network_signups_hour=counts[2],
            network_signups_day=counts[3],
        )

    def record_refusal(self, campaign_id: str, audit: AuditEntry) -> None:
        self._table.put(
            model_item(
                audit,
                "refusal",
                **keys.audit(audit.referral_id, audit.at, audit.action),
                gsi1pk=keys.refusals_of(campaign_id),
                gsi1sk=f"{keys.iso(audit.at)}#{audit.referral_id}",
            )
        )
