"""The bus's names, in a module without pydantic (announce_referrals publishes without it)."""

EVENT_SOURCE = "referral-engine"
REFERRAL_CREATED = "referral.created"
