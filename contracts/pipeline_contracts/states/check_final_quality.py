""" "Check final quality": processed or degraded, from every gate's verdict so far."""

from __future__ import annotations

from pipeline_contracts._base import Message
from pipeline_contracts.item import PlanSummary
from pipeline_contracts.outcomes import GateResult
from pipeline_contracts.states.fuse_modalities import FuseModalitiesOutput
from pipeline_contracts.vocabulary import ItemStatus


class CheckFinalQualityInput(Message):
    plan: PlanSummary
    fusion: FuseModalitiesOutput


class ItemVerdict(Message):
    """`$.final_gate`: the item's status and the gate that decided it."""

    gate: GateResult
    status: ItemStatus


CheckFinalQualityOutput = ItemVerdict
