"""The fields every plan carries besides its assets: the names derived from the item id, where
the alignment job reads and writes, and how long jobs may run. Made once, with the plan, for
a rejected item too, so no step fills a placeholder in later.

Bounds grow with the media's duration, so a stuck job times out in proportion to its
media instead of waiting for the state machine's own timeout.
"""

from __future__ import annotations

import posixpath
from typing import Any

from pipeline.config import PipelineConfig
from pipeline_contracts.item import Asset, ItemPlan, ItemRequest, Rejection
from pipeline_contracts.naming import WorkFiles, alignment_job_name, work_prefix

# Transcribe typically finishes in well under real time; allow a generous multiple.
TRANSCRIBE_MIN_TIMEOUT_S = 15 * 60
TRANSCRIBE_TIMEOUT_PER_MEDIA_SECOND = 3.0
ALIGNMENT_MIN_RUNTIME_S = 15 * 60
ALIGNMENT_RUNTIME_PER_MEDIA_SECOND = 2.0


def plan_fields(
    request: ItemRequest,
    assets: list[Asset],
    config: PipelineConfig,
    ingest_bucket: str,
    processed_bucket: str,
) -> dict[str, Any]:
    work = WorkFiles(work_prefix(request.item_id))
    longest = max((asset.duration_s or 0.0 for asset in assets), default=0.0)
    total_bytes = sum(asset.size_bytes for asset in assets)
    media_prefix = (
        request.source.key
        if request.kind == "object"
        else posixpath.dirname(request.source.key) + "/"
    )
    return {
        "item_id": request.item_id,
        "kind": request.kind,
        "source": request.source,
        "work_prefix": work.prefix,
        "plan_uri": f"s3://{processed_bucket}/{work.plan}",
        "job_input_uri": f"s3://{processed_bucket}/{work.job_input}",
        "alignment_job_name": alignment_job_name(request.item_id),
        "media_uri": f"s3://{ingest_bucket}/{media_prefix}",
        "alignment_output_uri": f"s3://{processed_bucket}/{work.alignment_output}",
        "transcribe_timeout_s": int(
            min(
                config.transcribe_timeout_s,
                max(TRANSCRIBE_MIN_TIMEOUT_S, longest * TRANSCRIBE_TIMEOUT_PER_MEDIA_SECOND),
            )
        ),
        "alignment_max_runtime_s": int(
            min(
                config.alignment.max_runtime_s,
                max(ALIGNMENT_MIN_RUNTIME_S, longest * ALIGNMENT_RUNTIME_PER_MEDIA_SECOND),
            )
        ),
        # Inputs are staged to the volume, plus room for keyframes and corrected files.
        "alignment_volume_size_gb": max(
            config.alignment.volume_size_gb, int(total_bytes * 2 / 1024**3) + 5
        ),
    }


def rejected_plan(
    request: ItemRequest,
    rejection: Rejection,
    config: PipelineConfig,
    ingest_bucket: str,
    processed_bucket: str,
) -> ItemPlan:
    return ItemPlan(
        accepted=False,
        rejection=rejection,
        **plan_fields(request, [], config, ingest_bucket, processed_bucket),
    )
