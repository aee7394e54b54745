"""Publish a finished item: derived files first, then its bill (costing.py, measured once
all but the record is done), the ItemResult last (it is the item's one record), and the detail
of the ItemProcessed event, which the state machine announces in a step that cannot undo the
result."""

from __future__ import annotations

import json
import posixpath
from collections.abc import Callable
from datetime import UTC, datetime

from pipeline.adapters.storage import ObjectMissing, ObjectStore, parse_s3_uri, read_json
from pipeline.domain.branch_verdicts import read_bodies
from pipeline.domain.costing import Billing, bill_item
from pipeline.domain.plans import load_plan
from pipeline.domain.records import now_iso
from pipeline_contracts.cost import ItemCost
from pipeline_contracts.item import ItemPlan, ItemRequest
from pipeline_contracts.naming import derived_file_key, record_key
from pipeline_contracts.records import ItemProcessed, ItemResult, Timings
from pipeline_contracts.search import SearchIndexing
from pipeline_contracts.states.check_final_quality import ItemVerdict
from pipeline_contracts.states.write_results import WriteResultsInput, WriteResultsOutput
from pipeline_contracts.work.fusion import FusionDraft

MAX_DERIVED_KEYFRAMES = 50


def write_results(
    request: WriteResultsInput, store: ObjectStore, bucket: str, billing: Billing
) -> WriteResultsOutput:
    """The item's ItemResult, from its plan, fusion's draft and the final gate's verdict,
    with its cost measured when everything but the record is done."""
    draft = FusionDraft.model_validate(read_json(store, request.fusion.fusion_uri))
    result = assemble_result(
        request.request,
        load_plan(store, request.plan.plan_uri),
        draft,
        request.final_gate,
        store,
        request.execution_arn,
        request.started_at,
    )
    result = with_search(result, request.search)

    def bill(result: ItemResult) -> ItemCost:
        return bill_item(
            result, draft.model_usage, request.plan.work_prefix, billing, store, bucket
        )

    uri = publish_result(result, store, bucket, request.request.received_at, bill)
    return WriteResultsOutput(
        result_uri=uri, status=result.status, event=item_processed(result, uri)
    )


def assemble_result(
    request: ItemRequest,
    plan: ItemPlan,
    draft: FusionDraft,
    verdict: ItemVerdict,
    store: ObjectStore,
    execution_arn: str | None,
    started_at: str | None,
) -> ItemResult:
    """Inlines the branch bodies fusion judged, read by the branch each came from."""
    bodies = read_bodies(draft.branches, store)
    finished_at = now_iso()
    return ItemResult(
        item_id=plan.item_id,
        status=verdict.status,
        degraded_branches=draft.degraded_branches,
        kind=plan.kind,
        source=plan.source,
        execution_arn=execution_arn,
        profile=plan.profile,
        assets=plan.assets,
        modalities=sorted({asset.modality for asset in plan.assets}),
        branches=draft.branches,
        transcripts=bodies.transcripts,
        vision=bodies.vision,
        alignment=bodies.alignment,
        gates=[*draft.gates, verdict.gate],
        fused=draft.fused,
        timeline=draft.timeline,
        model_ids=sorted({*draft.model_ids, *(v.model_id for v in bodies.vision)}),
        timings=Timings(
            received_at=request.received_at,
            started_at=started_at,
            finished_at=finished_at,
            duration_s=_seconds_between(started_at, finished_at),
        ),
    )


def with_search(result: ItemResult, search: SearchIndexing) -> ItemResult:
    """The record says whether the item can be found; an item that could not be indexed is
    degraded (branch "search"): processed, but search will not find it."""
    result.search = search
    if search.status == "failed" and result.status == "processed":
        result.status = "degraded"
    if search.status == "failed" and "search" not in result.degraded_branches:
        result.degraded_branches = [*result.degraded_branches, "search"]
    return result


def copy_derived_files(result: ItemResult, store: ObjectStore, bucket: str) -> dict[str, str]:
    """Captions and keyframes under derived/<item>/, where consumers find them by item id."""
    sources: dict[str, str] = {}
    for transcript in result.transcripts:
        for extension, uri in transcript.subtitle_uris.items():
            sources[f"captions/{transcript.asset_id}.{extension}"] = uri
    if result.alignment:
        for captions_path, uri in result.alignment.corrected_caption_uris.items():
            sources[f"captions/corrected/{posixpath.basename(captions_path)}"] = uri
        for uri in result.alignment.keyframe_uris[:MAX_DERIVED_KEYFRAMES]:
            sources[f"keyframes/{posixpath.basename(uri)}"] = uri
    copied: dict[str, str] = {}
    for name, uri in sorted(sources.items()):
        try:
            copied[name] = store.copy(
                parse_s3_uri(uri), bucket, derived_file_key(result.item_id, name)
            )
        except ObjectMissing:
            continue  # Listed but never written (e.g. a job that produced no subtitles).
    return copied


def publish_result(
    result: ItemResult,
    store: ObjectStore,
    bucket: str,
    received_at: str,
    bill: Callable[[ItemResult], ItemCost] | None = None,
) -> str:
    """Derived files, then the bill, then the ItemResult: nothing is written after it."""
    result.derived_files = copy_derived_files(result, store, bucket)
    if bill is not None:
        result.cost = bill(result)
    # One JSON object per line: the Glue table's JSON SerDe reads it as one row.
    body = json.dumps(
        result.model_dump(mode="json"), ensure_ascii=False, separators=(",", ":")
    ).encode()
    key = record_key("results", result.item_id, received_at)
    return store.put_bytes(bucket, key, body + b"\n", "application/json")


def item_processed(result: ItemResult, result_uri: str) -> ItemProcessed:
    return ItemProcessed(
        item_id=result.item_id,
        status=result.status,
        profile=result.profile,
        degraded_branches=result.degraded_branches,
        result_uri=result_uri,
        modalities=result.modalities,
        source=result.source,
    )


def _seconds_between(start: str | None, end: str) -> float | None:
    if not start:
        return None
    try:
        begin = datetime.fromisoformat(start.replace("Z", "+00:00"))
        finish = datetime.fromisoformat(end)
    except ValueError:
        return None
    if begin.tzinfo is None:
        begin = begin.replace(tzinfo=UTC)
    return round((finish - begin).total_seconds(), 3)
