"""Campaigns and their inbound-webhook ids."""

from __future__ import annotations

from referral_engine.adapters.dynamodb import keys
from referral_engine.adapters.dynamodb.codec import model_item, to_item
from referral_engine.adapters.dynamodb.table import Table
from referral_engine.domain.models import Campaign


class DynamoCampaignStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    def add(self, campaign: Campaign) -> None:
        self._table.transact(
            [
                self._table.put_op(model_item(campaign, "campaign", **keys.campaign(campaign.id))),
                self._table.put_op(
                    to_item({**keys.hook(campaign.hook_id), "entity": "hook", "campaign_id": campaign.id})
                ),
            ]
        )

    def get(self, campaign_id: str) -> Campaign | None:
        item = self._table.get(keys.campaign(campaign_id))
        return Campaign.model_validate(item) if item else None

    def by_hook(self, hook_id: str) -> Campaign | None:
        hook = self._table.get(keys.hook(hook_id))
        return self.get(hook["campaign_id"]) if hook else None
