"""The fakes honour the contracts of the DynamoDB adapters they stand in for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from referral_engine.domain.errors import IllegalTransition
from referral_engine.domain.models import (
    AuditEntry,
    Campaign,
    Participant,
    Referral,
    ReferralStatus,
    Reward,
    RewardRule,
    RewardStatus,
    Signal,
    SignalMatch,
)
from referral_engine.domain.records import replace
from referral_engine.ports import CodeTaken, EmailTaken, ExternalIdClaimed
from support.fakes import ConditionFailed, InMemoryBackend

AT = datetime(2024, 3, 1, tzinfo=UTC)


def participant(
    code: str, email: str, campaign_id: str = "cmp_1", referral_id: str | None = None
) -> Participant:
    return Participant(
        code=code,
        campaign_id=campaign_id,
        email=email,
        referral_id=referral_id,
        landing_url="https://shop.example/",
        created_at=AT,
    )


def referral(
    referral_id: str, referred_code: str, email: str, external_ids: dict[str, str] | None = None
) -> Referral:
    return Referral(
        id=referral_id,
        campaign_id="cmp_1",
        advocate_code="advocate0001",
        referred_code=referred_code,
        referred_email=email,
        external_ids=external_ids or {},
        joined_at=AT,
    )


def audit(referral_id: str, action: str = "referral.created", at: datetime = AT) -> AuditEntry:
    return AuditEntry(referral_id=referral_id, at=at, action=action, actor="test")


def reward(referral_id: str, recipient: str, code: str, amount: str) -> Reward:
    return Reward(
        id=f"rwd_{recipient}",
        referral_id=referral_id,
        campaign_id="cmp_1",
        recipient=recipient,  # type: ignore[arg-type]
        recipient_code=code,
        amount=Decimal(amount),
        currency="EUR",
        status=RewardStatus.FULFILLED,
        created_at=AT,
    )


@pytest.fixture
def backend() -> InMemoryBackend:
    backend = InMemoryBackend()
    backend.participants.add(participant("advocate0001", "ann@example.com"))
    return backend


def add(backend: InMemoryBackend, r: Referral) -> None:
    backend.referrals.add(r, participant(r.referred_code, r.referred_email, referral_id=r.id), audit(r.id))


def test_campaign_ids_and_hook_ids_are_unique() -> None:
    store = InMemoryBackend().campaigns
    campaign = Campaign(
        id="cmp_1",
        name="Spring",
        landing_url="https://shop.example/",
        reward=RewardRule(amount=Decimal(1), currency="EUR"),
        hook_id="hook-1",
        created_at=AT,
    )
    store.add(campaign)
    with pytest.raises(ConditionFailed):
        store.add(replace(campaign, **{"hook_id": "hook-2"}))
    with pytest.raises(ConditionFailed):
        store.add(replace(campaign, **{"id": "cmp_2"}))
    assert store.by_hook("hook-1") == campaign
    assert store.by_hook("hook-2") is None


def test_participant_email_claim_wins_over_code_and_nothing_is_written(backend: InMemoryBackend) -> None:
    store = backend.participants
    with pytest.raises(EmailTaken):
        store.add(participant("advocate0001", "ann@example.com"))  # both taken: EmailTaken, as the adapter
    with pytest.raises(CodeTaken):
        store.add(participant("advocate0001", "bob@example.com"))
    assert store.by_email("cmp_1", "bob@example.com") is None
    store.add(participant("other0000001", "ann@example.com", campaign_id="cmp_2"))
    assert store.by_email("cmp_2", "ann@example.com") is not None


@pytest.mark.parametrize(
    ("conflict", "error"),
    [
        (referral("ref_2", "friend000002", "bob@example.com"), EmailTaken),
        (referral("ref_2", "friend000001", "carol@example.com"), CodeTaken),
        (referral("ref_2", "friend000002", "carol@example.com", {"hubspot": "7"}), ExternalIdClaimed),
        (referral("ref_1", "friend000002", "carol@example.com"), ConditionFailed),
    ],
)
def test_a_conflicting_referral_writes_nothing(
    backend: InMemoryBackend, conflict: Referral, error: type[Exception]
) -> None:
    add(backend, referral("ref_1", "friend000001", "bob@example.com", {"hubspot": "7"}))
    snapshot = (
        dict(backend.participants.participants),
        dict(backend.participants.email_claims),
        dict(backend.referrals.referrals),
        dict(backend.referrals.external_ids),
        dict(backend.referrals.audit),
    )

    with pytest.raises(error):
        backend.referrals.add(
            conflict,
            participant(conflict.referred_code, conflict.referred_email, referral_id=conflict.id),
            audit(conflict.id, at=AT + timedelta(seconds=1)),
        )

    assert snapshot == (
        backend.participants.participants,
        backend.participants.email_claims,
        backend.referrals.referrals,
        backend.referrals.external_ids,
        backend.referrals.audit,
    )
    advocate = backend.participants.get("advocate0001")
    assert advocate is not None
    assert advocate.referrals == 1


def test_a_referral_needs_an_existing_advocate() -> None:
    backend = InMemoryBackend()
    with pytest.raises(ConditionFailed):
        add(backend, referral("ref_1", "friend000001", "bob@example.com"))
    assert backend.participants.participants == {}


def test_external_ids_are_found_as_source_colon_id(backend: InMemoryBackend) -> None:
    r = referral("ref_1", "friend000001", "bob@example.com", {"hubspot": "7"})
    add(backend, r)
    assert backend.referrals.by_external_id("cmp_1", "hubspot:7") == r
    assert backend.referrals.by_external_id("cmp_1", "7") is None
    assert backend.referrals.by_external_id("cmp_2", "hubspot:7") is None


def test_transitions_are_conditional_on_the_status_read(backend: InMemoryBackend) -> None:
    r = referral("ref_1", "friend000001", "bob@example.com")
    add(backend, r)
    store = backend.referrals

    first = store.mark_qualified(r, "test:evt-1", audit(r.id, "referral.qualified", AT + timedelta(hours=1)))
    again = store.mark_qualified(r, "test:evt-2", audit(r.id, "referral.qualified", AT + timedelta(hours=2)))

    assert first.applied
    assert (first.current.status, first.current.qualified_by) == (ReferralStatus.QUALIFIED, "test:evt-1")
    assert first.current.qualified_at == AT + timedelta(hours=1)
    assert not again.applied
    assert again.current == first.current
    history = store.history(r.id)
    assert history is not None
    assert [entry.action for entry in history.audit] == ["referral.created", "referral.qualified"]

    # a qualified snapshot can reward, once (a pending one is refused by the table: see below)
    rewards = [reward(r.id, "advocate", "advocate0001", "10"), reward(r.id, "friend", "friend000001", "5")]
    done = store.record_rewards(
        first.current, rewards, audit(r.id, "referral.rewarded", AT + timedelta(hours=3))
    )
    assert done.applied
    assert done.current.rewarded_at == AT + timedelta(hours=3)
    twice = store.record_rewards(
        first.current, rewards, audit(r.id, "referral.rewarded", AT + timedelta(hours=4))
    )
    assert not twice.applied
    assert [x.recipient for x in store.history(r.id).rewards] == ["advocate", "friend"]  # type: ignore[union-attr]
    balances = {code: p.credit_balance for code, p in backend.participants.participants.items()}
    assert balances == {"advocate0001": Decimal(10), "friend000001": Decimal(5)}


def test_a_move_the_state_machine_does_not_have_is_refused_before_writing(backend: InMemoryBackend) -> None:
    r = referral("ref_1", "friend000001", "bob@example.com")
    add(backend, r)
    before = backend.referrals.history(r.id)
    with pytest.raises(IllegalTransition):
        backend.referrals.record_rewards(r, [], audit(r.id, "referral.rewarded"))
    assert backend.referrals.history(r.id) == before


def test_rewards_for_an_unknown_recipient_write_nothing(backend: InMemoryBackend) -> None:
    r = referral("ref_1", "friend000001", "bob@example.com")
    add(backend, r)
    qualified = backend.referrals.mark_qualified(r, "k", audit(r.id, "referral.qualified")).current
    with pytest.raises(ConditionFailed):
        backend.referrals.record_rewards(
            qualified, [reward(r.id, "advocate", "nobody000000", "10")], audit(r.id, "referral.rewarded")
        )
    assert backend.referrals.get(r.id) == qualified


def test_the_inbox_accepts_each_source_and_event_id_once() -> None:
    inbox = InMemoryBackend().inbox

    def signal(source: str, event_id: str) -> Signal:
        return Signal(
            source=source,
            event_id=event_id,
            campaign_id="cmp_1",
            match=SignalMatch(code="abcd"),
            received_at=AT,
        )

    assert inbox.accept(signal("stripe", "evt_1"))
    assert not inbox.accept(signal("stripe", "evt_1"))
    assert inbox.accept(signal("hubspot", "evt_1"))


def test_listing_filters_after_the_limit_like_dynamodb(backend: InMemoryBackend) -> None:
    for i in range(4):
        r = replace(
            referral(f"ref_{i}", f"friend00000{i}", f"f{i}@example.com"),
            **{"joined_at": AT + timedelta(minutes=i)},
        )
        add(backend, r)
    backend.referrals.mark_qualified(
        backend.referrals.referrals["ref_3"], "k", audit("ref_3", "referral.qualified")
    )

    page = backend.referrals.page(
        "cmp_1", status=ReferralStatus.QUALIFIED, sort="joined_at", descending=False, limit=2, cursor=None
    )
    assert page.items == []
    assert page.next_cursor is not None
    rest = backend.referrals.page(
        "cmp_1",
        status=ReferralStatus.QUALIFIED,
        sort="joined_at",
        descending=False,
        limit=2,
        cursor=page.next_cursor,
    )
    assert [r.id for r in rest.items] == ["ref_3"]
    assert rest.next_cursor is None
    by_qualified = backend.referrals.page(
        "cmp_1", status=None, sort="qualified_at", descending=True, limit=10, cursor=None
    )
    assert [r.id for r in by_qualified.items] == ["ref_3"]
    with pytest.raises(ValueError, match="cursor"):
        backend.referrals.page(
            "cmp_1", status=None, sort="qualified_at", descending=False, limit=2, cursor=page.next_cursor
        )
