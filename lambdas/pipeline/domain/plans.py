"""The item's plan, read back from where the intake gate wrote it.

The state machine carries a `PlanSummary` (ids and URIs) because Step Functions refuses a
state over 256 KB, and a whole plan (every asset with its path, the vocabulary) can come close
to that on its own. So each step that needs an asset, the language, the vocabulary or the
asset list reads the plan from `plan_uri`: one small S3 read per step, instead of the whole
plan copied through every state and every Map iteration.
"""

from __future__ import annotations

from pipeline.adapters.storage import ObjectStore, read_json
from pipeline.errors import AssetNotInPlan
from pipeline_contracts.item import Asset, ItemPlan


def load_plan(store: ObjectStore, plan_uri: str) -> ItemPlan:
    """The plan the intake gate wrote (ObjectMissing when it was never written)."""
    return ItemPlan.model_validate(read_json(store, plan_uri))


def find_asset(plan: ItemPlan, asset_id: str) -> Asset:
    for asset in plan.assets:
        if asset.asset_id == asset_id:
            return asset
    raise AssetNotInPlan(f"asset {asset_id} is not in the plan of item {plan.item_id}")


def load_asset(store: ObjectStore, plan_uri: str, asset_id: str) -> tuple[ItemPlan, Asset]:
    """The plan and one of its assets: what a Map iteration starts from."""
    plan = load_plan(store, plan_uri)
    return plan, find_asset(plan, asset_id)
