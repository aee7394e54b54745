"""Where the alignment job reads and writes, and how long jobs may run, per item.

Bounds grow with the media's duration, so a stuck job times out in proportion to its
media instead of waiting for the state machine's own timeout.
"""

from __future__ import annotations

from pipeline.config import PipelineConfig
from pipeline.models.item import ItemPlan

# Transcribe typically finishes in well under real time; allow a generous multiple.
TRANSCRIBE_MIN_TIMEOUT_S = 15 * 60
TRANSCRIBE_TIMEOUT_PER_MEDIA_SECOND = 3.0
ALIGNMENT_MIN_RUNTIME_S = 15 * 60
ALIGNMENT_RUNTIME_PER_MEDIA_SECOND = 2.0


def with_job_settings(
    plan: ItemPlan, config: PipelineConfig, ingest_bucket: str, processed_bucket: str
) -> ItemPlan:
    if not plan.accepted:
        return plan
    longest = max((asset.duration_s or 0.0 for asset in plan.assets), default=0.0)
    total_bytes = sum(asset.size_bytes for asset in plan.assets)
    media_prefix = plan.source.key if plan.kind == "object" else _bundle_prefix(plan)
    return plan.model_copy(
        update={
            "media_uri": f"s3://{ingest_bucket}/{media_prefix}",
            "alignment_output_uri": f"s3://{processed_bucket}/{plan.work_prefix}alignment/",
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
    )


def _bundle_prefix(plan: ItemPlan) -> str:
    return plan.source.key.rsplit("/", 1)[0] + "/"
