"""Every key the table uses, in one place (docs/data-model.md explains the layout)."""

from __future__ import annotations

from datetime import datetime

from referral_engine.domain.identifiers import sha256_hex

Key = dict[str, str]


def iso(at: datetime) -> str:
    """Sortable text form of a UTC time, used in sort keys and attributes alike."""
    return at.isoformat(timespec="microseconds")


def campaign(campaign_id: str) -> Key:
    return {"pk": f"CAMPAIGN#{campaign_id}", "sk": "CAMPAIGN"}


def hook(hook_id: str) -> Key:
    return {"pk": f"HOOK#{hook_id}", "sk": "HOOK"}


def connection(connection_id: str) -> Key:
    return {"pk": f"CONNECTION#{connection_id}", "sk": "CONNECTION"}


def connections_of(campaign_id: str) -> str:
    return f"CAMPAIGN#{campaign_id}#CONNECTIONS"


def participant(code: str) -> Key:
    return {"pk": f"CODE#{code}", "sk": "CODE"}


def click_shard(code: str, shard: int) -> Key:
    """One of a code's write-sharded click counters (domain/click_shards.py)."""
    return {"pk": f"CLICKS#{code}#{shard}", "sk": "CLICKS"}


def email_claim(campaign_id: str, email: str) -> Key:
    return {"pk": f"EMAIL#{campaign_id}#{sha256_hex(email)}", "sk": "EMAIL"}


def external_id_claim(campaign_id: str, external_id: str) -> Key:
    return {"pk": f"EXTID#{campaign_id}#{sha256_hex(external_id)}", "sk": "EXTID"}


def payment_claim(campaign_id: str, payment_id: str) -> Key:
    """Which referral a payment (a charge, payment intent or invoice id) qualified: written with the
    qualification, read to match a refund or dispute that names only the payment (docs/adr/0021)."""
    return {"pk": f"PAYMENT#{campaign_id}#{sha256_hex(payment_id)}", "sk": "PAYMENT"}


def canonical_email(campaign_id: str, canonical: str, code: str) -> Key:
    """One participant under their canonical email (domain/emails.py): the spellings of one mailbox
    share a partition, queried by the fraud checks (docs/adr/0018)."""
    return {"pk": canonical_email_partition(campaign_id, canonical), "sk": f"CODE#{code}"}


def canonical_email_partition(campaign_id: str, canonical: str) -> str:
    return f"CANON#{campaign_id}#{sha256_hex(canonical)}"


def device(code: str, at: datetime) -> Key:
    """A device (fingerprints) a participant signed up on, newest last; expires (EVIDENCE_TTL_DAYS)."""
    return {"pk": devices_of(code), "sk": f"DEVICE#{iso(at)}"}


def devices_of(code: str) -> str:
    return f"DEVICES#{code}"


def velocity(subject: str, window: str) -> Key:
    """A bounded counter of signups: `subject` an advocate's code or a campaign's network, `window`
    an hour or a day (adapters/dynamodb/signup_evidence.py)."""
    return {"pk": f"VELOCITY#{subject}#{window}", "sk": "VELOCITY"}


def refusals_of(campaign_id: str) -> str:
    """gsi1: the signups a campaign's fraud policy refused, by time."""
    return f"CAMPAIGN#{campaign_id}#REFUSED"


def referral(referral_id: str) -> Key:
    return {"pk": f"REFERRAL#{referral_id}", "sk": "REFERRAL"}


def referral_partition(referral_id: str) -> str:
    return f"REFERRAL#{referral_id}"


def reward(referral_id: str, recipient: str) -> Key:
    return {"pk": referral_partition(referral_id), "sk": f"REWARD#{recipient}"}


def audit(referral_id: str, at: datetime, action: str) -> Key:
    return {"pk": referral_partition(referral_id), "sk": f"AUDIT#{iso(at)}#{action}"}


def signal(dedupe_key: str) -> Key:
    return {"pk": f"SIGNAL#{dedupe_key}", "sk": "SIGNAL"}


def api_key(key_hash: str) -> Key:
    return {"pk": f"APIKEY#{key_hash}", "sk": "APIKEY"}


def api_key_id(key_id: str) -> Key:
    """Points from a key's id to its hash (the key item's partition), to revoke a key by its id."""
    return {"pk": f"APIKEYID#{key_id}", "sk": "APIKEYID"}


API_KEYS = "APIKEYS"


def api_key_index(key_id: str, created_at: datetime) -> dict[str, str]:
    """gsi1: every API key in one partition, by creation time (listed newest first)."""
    return {"gsi1pk": API_KEYS, "gsi1sk": f"{iso(created_at)}#{key_id}"}


ADMIN_LOG = "ADMINLOG"


def admin_log_index(at: datetime, message_id: str) -> dict[str, str]:
    """gsi1: the whole admin log in one partition, by time (listed newest first)."""
    return {"gsi1pk": ADMIN_LOG, "gsi1sk": f"{iso(at)}#{message_id}"}


def admin_log(at: datetime, message_id: str) -> Key:
    """An admin's decision on a queued message (discard, redrive): one partition per UTC day."""
    return {"pk": f"ADMINLOG#{at.strftime('%Y-%m-%d')}", "sk": f"{iso(at)}#{message_id}"}


def referrals_by_joined(campaign_id: str) -> str:
    return f"CAMPAIGN#{campaign_id}#JOINED"


def referrals_by_qualified(campaign_id: str) -> str:
    return f"CAMPAIGN#{campaign_id}#QUALIFIED"


def referral_indexes(
    campaign_id: str, referral_id: str, joined_at: datetime, qualified_at: datetime | None
) -> dict[str, str]:
    keys = {"gsi1pk": referrals_by_joined(campaign_id), "gsi1sk": f"{iso(joined_at)}#{referral_id}"}
    if qualified_at is not None:
        keys |= {
            "gsi2pk": referrals_by_qualified(campaign_id),
            "gsi2sk": f"{iso(qualified_at)}#{referral_id}",
        }
    return keys


CAMPAIGNS = "CAMPAIGNS"


def campaign_index(campaign_id: str, created_at: datetime) -> dict[str, str]:
    """gsi1: every campaign in one partition, newest last by creation time (listed newest first)."""
    return {"gsi1pk": CAMPAIGNS, "gsi1sk": f"{iso(created_at)}#{campaign_id}"}


def participants_of(campaign_id: str) -> str:
    return f"CAMPAIGN#{campaign_id}#PARTICIPANTS"


def rewards_of(code: str) -> str:
    return f"CODE#{code}#REWARDS"


RELEASES = "RELEASES"


def release_index(release_at: datetime, reward_id: str) -> dict[str, str]:
    """gsi2 (sparse): every reward waiting for its release, by release time (docs/adr/0020)."""
    return {"gsi2pk": RELEASES, "gsi2sk": f"{iso(release_at)}#{reward_id}"}


def released_by(at: datetime) -> str:
    """The release index's sort keys up to `at` sort before this (ids are letters, digits and `_`)."""
    return f"{iso(at)}#~"


IDEMPOTENCY = "IDEMPOTENCY"
"""The partition of `Idempotency-Key` answers, kept by Powertools' Idempotency utility: pk `IDEMPOTENCY`,
sk `IDEMPOTENCY#{sha256 of the caller and the key}` (web/idempotency.py sets that prefix)."""


def review(review_id: str) -> Key:
    """A review item (domain/reviews.py): its own partition (docs/adr/0019)."""
    return {"pk": f"REVIEW#{review_id}", "sk": "REVIEW"}


REVIEWS = "REVIEWS"


def review_index(opened_at: datetime, review_id: str) -> dict[str, str]:
    """gsi1: every open review item in one partition, oldest first; removed when it is decided."""
    return {"gsi1pk": REVIEWS, "gsi1sk": f"{iso(opened_at)}#{review_id}"}


def held_signal(referral_id: str) -> Key:
    """The qualifying signal a referral in review received, replayed when an admin approves it."""
    return {"pk": referral_partition(referral_id), "sk": "HELD_SIGNAL"}


def clawback_claim(referral_id: str, recipient: str) -> Key:
    """One clawback review item per reward, however often the clawback is retried."""
    return {"pk": referral_partition(referral_id), "sk": f"CLAWBACK_REVIEW#{recipient}"}
