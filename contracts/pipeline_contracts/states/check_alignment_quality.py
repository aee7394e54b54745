""" "Check alignment quality": judge the job's report (sync scores, clipping, sharpness) and
write its summary to `results/alignment.json`."""

from __future__ import annotations

from pipeline_contracts._base import Message
from pipeline_contracts.item import PlanSummary
from pipeline_contracts.outcomes import GateResult
from pipeline_contracts.states.run_alignment_job import AlignmentJobEnded


class CheckAlignmentQualityInput(Message):
    plan: PlanSummary
    job: AlignmentJobEnded


class AlignmentChecked(Message):
    result_uri: str
    gates: list[GateResult]


CheckAlignmentQualityOutput = AlignmentChecked
