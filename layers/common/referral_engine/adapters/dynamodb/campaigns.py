"""Campaigns and their inbound-webhook ids."""

from __future__ import annotations

from typing import Any

from referral_engine.adapters.dynamodb import keys
from referral_engine.adapters.dynamodb.codec import Item, model_item, to_item, value
from referral_engine.adapters.dynamodb.pages import newest_first
from referral_engine.adapters.dynamodb.table import Table, TransactionCancelled
from referral_engine.domain.models import Campaign
from referral_engine.domain.records import parse
from referral_engine.ports import CampaignPage


class DynamoCampaignStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    def add(self, campaign: Campaign) -> None:
        self._table.transact(
            [self._table.put_op(self._item(campaign)), self._table.put_op(self._hook(campaign))]
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

    def replace_hook_signing(self, campaign: Campaign, *, trusted_version: int | None) -> bool:
        if trusted_version is None:
            condition = "attribute_exists(pk) AND attribute_not_exists(hook_signing)"
            values: dict[str, Any] = {}
        else:
            condition = "hook_signing.version = :trusted"
            values = {":trusted": value(trusted_version)}
        return self._table.put_if(self._item(campaign), condition, values)

    def move_hook(self, campaign: Campaign, old_hook_id: str) -> bool:
        moved: Any = {
            "Put": {
                "TableName": self._table.name,
                "Item": self._item(campaign),
                "ConditionExpression": "hook_id = :old",
                "ExpressionAttributeValues": {":old": value(old_hook_id)},
            }
        }
        operations = [
            moved,
            self._table.delete_op(keys.hook(old_hook_id)),
            self._table.put_op(self._hook(campaign)),
        ]
        try:
            self._table.transact(operations)
        except TransactionCancelled:
            return False
        return True

    @staticmethod
    def _item(campaign: Campaign) -> Item:
        return model_item(
            campaign,
            "campaign",
            **keys.campaign(campaign.id),
            **keys.campaign_index(campaign.id, campaign.created_at),
        )

    @staticmethod
    def _hook(campaign: Campaign) -> Item:
        return to_item({**keys.hook(campaign.hook_id), "entity": "hook", "campaign_id": campaign.id})

    def recent(self, *, limit: int, cursor: str | None) -> CampaignPage:
        items, next_cursor = newest_first(self._table, keys.CAMPAIGNS, limit=limit, cursor=cursor)
        return CampaignPage(items=[parse(Campaign, item) for item in items], next_cursor=next_cursor)
