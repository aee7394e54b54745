""" "Check intake": sniff, decode-check and plan the item, or reject it with a reason code.

The whole `ItemPlan` is written to `plan_uri`; the state carries its `PlanSummary`.
"""

from __future__ import annotations

from pipeline_contracts._base import Message
from pipeline_contracts.item import ItemRequest, PlanSummary


class CheckIntakeInput(Message):
    request: ItemRequest
    execution_arn: str


CheckIntakeOutput = PlanSummary
