"""Domain exceptions. Handlers map them to HTTP answers in one place; nothing matches on messages."""

from __future__ import annotations


class DomainError(Exception):
    """Base class; `code` is the stable machine-readable error code."""

    code = "domain_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    code = "conflict"


class InvalidRequest(DomainError):
    code = "invalid_request"


class SelfReferral(InvalidRequest):
    code = "self_referral"


class FraudRejected(InvalidRequest):
    """A referral its campaign's fraud policy rejects (domain/fraud.py); `reasons` are the stable
    reason codes, for the answer's body and the audit of the refusal."""

    code = "fraud_rejected"

    def __init__(self, reasons: list[str]) -> None:
        super().__init__(f"refused by the campaign's fraud policy: {', '.join(reasons)}")
        self.reasons = reasons


class AlreadyParticipant(Conflict):
    code = "already_participant"


class ExternalIdTaken(Conflict):
    code = "external_id_taken"


class CampaignInactive(Conflict):
    code = "campaign_inactive"


class PermanentSignalError(DomainError):
    """A signal that can never succeed however often it is retried; it goes to the exceptions queue."""

    code = "unprocessable_signal"


class UnmatchedSignal(PermanentSignalError):
    code = "unmatched_signal"


class IllegalTransition(Conflict):
    """A status move the entity's state machine (`domain/states.py`) does not have; `current` is None
    for a status the entity may not be created in."""

    code = "illegal_transition"

    def __init__(self, entity: str, current: str | None, target: str) -> None:
        super().__init__(
            f"a {entity} cannot go from {current} to {target}"
            if current is not None
            else f"a {entity} cannot be created {target}"
        )
        self.entity = entity
        self.current = current
        self.target = target
