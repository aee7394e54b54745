""" "Write results": the derived files, then the ItemResult (last: it is the item's record),
once per execution. Returns the ItemProcessed event's detail for "Announce the result"."""

from __future__ import annotations

from pipeline_contracts._base import Message
from pipeline_contracts.item import ItemRequest, PlanSummary
from pipeline_contracts.records import ItemProcessed
from pipeline_contracts.search import SearchIndexing
from pipeline_contracts.states.check_final_quality import ItemVerdict
from pipeline_contracts.states.fuse_modalities import FuseModalitiesOutput
from pipeline_contracts.vocabulary import ItemStatus


class WriteResultsInput(Message):
    request: ItemRequest
    plan: PlanSummary
    fusion: FuseModalitiesOutput
    final_gate: ItemVerdict
    # "Index for search" (or its Catch): whether the item can be found.
    search: SearchIndexing
    execution_arn: str
    started_at: str


class WriteResultsOutput(Message):
    result_uri: str
    status: ItemStatus
    event: ItemProcessed
