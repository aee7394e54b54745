""" "Run alignment job" (sagemaker:createProcessingJob.sync): the ASL builds the request from
the `PlanSummary`; the job reads the whole `ItemPlan` (plan.json) and writes an
`AlignmentReport` (alignment/alignment.json). The state keeps `AlignmentJobEnded`."""

from __future__ import annotations

from pipeline_contracts._base import Message
from pipeline_contracts.item import ItemPlan
from pipeline_contracts.work.alignment import AlignmentReport

AlignmentJobInput = ItemPlan
AlignmentJobOutput = AlignmentReport


class AlignmentJobEnded(Message):
    """The ResultSelector's pick of DescribeProcessingJob."""

    job_name: str
    status: str


RunAlignmentJobOutput = AlignmentJobEnded
