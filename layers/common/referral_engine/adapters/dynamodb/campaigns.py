"""Campaigns and their inbound-webhook ids."""

from __future__ import annotations

from referral_engine.adapters.dynamodb import keys
from referral_engine.adapters.dynamodb.codec import model_item, to_item
from referral_engine.adapters.dynamodb.pages import newest_first
from referral_engine.adapters.dynamodb.table import Table
from referral_engine.domain.models import Campaign
from referral_engine.domain.records import parse
from referral_engine.ports import CampaignPage


class DynamoCampaignStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    def add(self, campaign: Campaign) -> None:
        item = model_item(
            campaign,
            "campaign",
            **keys.campaign(campaign.id),
            **keys.campaign_index(campaign.id, campaign.created_at),
        )
        self._table.transact(
            [
                self._table.put_op(item),
                self._table.put_op(
                    to_item({**keys.hook(campaign.hook_id), "entity": "hook", "campaign_id": campaign.id})
                ),
            ]
        )

    def get(self, campaign_id: str) -> Campaign | None:
        item = self._table.get(keys.campaign(campaign_id))
        return parse(Campaign, item) if item else None

    def by_hook(self, hook_id: str) -> Campaign | None:
        """The campaign whose generic webhook this is. A connection's hook id is not one: those calls
        must pass their vendor's verification."""
        hook = self._table.get(keys.hook(hook_id))
        if hook is None or "connection_id" in hook:
            return None
        return self.get(hook["campaign_id"])

    def recent(self, *, limit: int, cursor: str | None) -> CampaignPage:
        items, next_cursor = newest_first(self._table, keys.CAMPAIGNS, limit=limit, cursor=cursor)
        return CampaignPage(items=[parse(Campaign, item) for item in items], next_cursor=next_cursor)
