""" "Fuse modalities": judge each branch, read their bodies once, ask one model across them,
and write the `FusionDraft` (fusion.json)."""

from __future__ import annotations

from pipeline_contracts._base import Message
from pipeline_contracts.item import PlanSummary
from pipeline_contracts.states.process_modalities import BranchOutput
from pipeline_contracts.vocabulary import BranchName, ItemStatus


class FuseModalitiesInput(Message):
    """The audio and vision branches (the Parallel's output) and the alignment branch, which
    runs after them so that its timeline has Transcribe's words."""

    plan: PlanSummary
    branches: list[BranchOutput]
    alignment: BranchOutput
    execution_arn: str

    @property
    def all_branches(self) -> list[BranchOutput]:
        return [*self.branches, self.alignment]


class FuseModalitiesOutput(Message):
    """`$.fusion`: where the draft is, and whether a branch degraded the item."""

    fusion_uri: str
    degraded_branches: list[BranchName]
    status: ItemStatus
