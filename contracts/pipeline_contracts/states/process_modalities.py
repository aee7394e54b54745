""" "Process modalities" (Parallel): the audio, vision and alignment branches. Its output
(`$.branches`) is one `BranchOutput` per branch, built by the branches' Pass states
("Skip ...", "... branch done", "... branch failed")."""

from __future__ import annotations

from typing import Literal

from pipeline_contracts._base import Message
from pipeline_contracts.item import ItemRequest, PlanSummary
from pipeline_contracts.outcomes import AssetFailure, AssetResult, StepFailure
from pipeline_contracts.states.check_alignment_quality import AlignmentChecked
from pipeline_contracts.vocabulary import BranchName


class ProcessModalitiesInput(ItemRequest):
    plan: PlanSummary


class BranchSkipped(Message):
    branch: BranchName
    status: Literal["skipped"]


class BranchFailed(Message):
    branch: BranchName
    status: Literal["failed"]
    failure: StepFailure


class AssetBranchDone(Message):
    """The audio or vision Map's results: one per asset, succeeded or failed."""

    branch: Literal["audio", "vision"]
    status: Literal["succeeded"]
    results: list[AssetResult | AssetFailure]


class AlignmentBranchDone(Message):
    branch: Literal["alignment"]
    status: Literal["succeeded"]
    results: AlignmentChecked


BranchOutput = BranchSkipped | BranchFailed | AssetBranchDone | AlignmentBranchDone
ProcessModalitiesOutput = list[BranchOutput]
