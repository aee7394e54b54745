"""Publish a finished item: derived files first, the ItemResult last (it is the item's one
record), and the detail of the ItemProcessed event, which the state machine announces in a
step that cannot undo the result."""

from __future__ import annotations

import json
import posixpath
from datetime import UTC, datetime
from typing import Any

from pipeline.adapters.storage import ObjectMissing, ObjectStore, parse_s3_uri, read_json
from pipeline.domain.records import now_iso, result_key
from pipeline.models.branches import AlignmentResult, GateResult, Transcript, VisionResult
from pipeline.models.item import ItemPlan, ItemRequest
from pipeline.models.results import FusionDraft, ItemResult, Timings

MAX_DERIVED_KEYFRAMES = 50


def assemble_result(
    request: ItemRequest,
    plan: ItemPlan,
    draft: FusionDraft,
    final_gate: GateResult,
    status: str,
    store: ObjectStore,
    execution_arn: str | None,
    started_at: str | None,
) -> ItemResult:
    transcripts: list[Transcript] = []
    vision: list[VisionResult] = []
    alignment: AlignmentResult | None = None
    for branch in draft.branches:
        for uri in branch.result_uris:
            body = read_json(store, uri)
            name = posixpath.basename(uri)
            if name.startswith("transcript-"):
                transcripts.append(Transcript.model_validate(body))
            elif name.startswith("vision-"):
                vision.append(VisionResult.model_validate(body))
            elif name == "alignment.json":
                alignment = AlignmentResult.model_validate(body)
    finished_at = now_iso()
    gates = [*draft.gates, final_gate]
    return ItemResult(
        item_id=plan.item_id,
        status=status,
        degraded_branches=draft.degraded_branches,
        kind=plan.kind,
        source=plan.source,
        execution_arn=execution_arn,
        profile=plan.profile,
        assets=plan.assets,
        modalities=sorted({asset.modality for asset in plan.assets}),
        branches=draft.branches,
        transcripts=transcripts,
        vision=vision,
        alignment=alignment,
        gates=gates,
        fused=draft.fused,
        timeline=draft.timeline,
        model_ids=sorted({*draft.model_ids, *(v.model_id for v in vision)}),
        timings=Timings(
            received_at=request.received_at,
            started_at=started_at,
            finished_at=finished_at,
            duration_s=_seconds_between(started_at, finished_at),
        ),
    )


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
            copied[name] = store.copy(parse_s3_uri(uri), bucket, f"derived/{result.item_id}/{name}")
        except ObjectMissing:
            continue  # Listed but never written (e.g. a job that produced no subtitles).
    return copied


def publish_result(result: ItemResult, store: ObjectStore, bucket: str, received_at: str) -> str:
    """Derived files, then the ItemResult: nothing is written after it."""
    result.derived_files = copy_derived_files(result, store, bucket)
    # One JSON object per line: the Glue table's JSON SerDe reads it as one row.
    body = json.dumps(
        result.model_dump(mode="json"), ensure_ascii=False, separators=(",", ":")
    ).encode()
    return store.put_bytes(
        bucket, result_key(result.item_id, received_at), body + b"\n", "application/json"
    )


def item_processed_detail(result: ItemResult, result_uri: str) -> dict[str, Any]:
    """The detail of the ItemProcessed event (source multimodal-pipeline)."""
    return {
        "item_id": result.item_id,
        "status": result.status,
        "profile": result.profile,
        "degraded_branches": result.degraded_branches,
        "result_uri": result_uri,
        "modalities": result.modalities,
        "source": result.source.model_dump(mode="json"),
    }


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
