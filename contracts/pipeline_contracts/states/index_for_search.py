""" "Index for search": embed the finished item's pieces and put them in the search index,
just before its record is written (which then says whether the item can be found). Its
Catch gives `{status: failed, error, cause}` instead, and the item ends degraded."""

from __future__ import annotations

from pipeline_contracts._base import Message
from pipeline_contracts.item import ItemRequest, PlanSummary
from pipeline_contracts.search import SearchIndexing
from pipeline_contracts.states.check_final_quality import ItemVerdict
from pipeline_contracts.states.fuse_modalities import FuseModalitiesOutput


class IndexForSearchInput(Message):
    request: ItemRequest
    plan: PlanSummary
    fusion: FuseModalitiesOutput
    final_gate: ItemVerdict


IndexForSearchOutput = SearchIndexing
