"""The alignment gate: read the job's alignment.json and judge sync and media quality.

The job (processing/report.py) owns the report's schema; this side reads only the fields
the gate needs and ignores the rest, so the two can evolve within schema_version 1.x.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from pipeline.adapters.storage import ObjectMissing, ObjectStore, parse_s3_uri
from pipeline.config import Thresholds
from pipeline.errors import AlignmentFailed
from pipeline.models.branches import AlignmentResult, GateResult

REPORT_FILE = "alignment.json"
TIMELINE_IN_RESULT = 500


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class SyncSummary(_Lenient):
    captions_path: str
    media_path: str
    offset_s: float
    drift: float
    score: float
    cues: int = 0
    corrected_captions: str | None = None


class ReportView(_Lenient):
    schema_version: str
    score: float | None = None
    syncs: list[SyncSummary] = Field(default_factory=list)
    scenes: list[dict[str, Any]] = Field(default_factory=list)
    quality: dict[str, dict[str, dict[str, Any]]] = Field(default_factory=dict)
    timeline: list[dict[str, Any]] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)


def read_report(store: ObjectStore, output_uri: str) -> ReportView:
    ref = parse_s3_uri(output_uri.rstrip("/") + "/" + REPORT_FILE)
    try:
        report = ReportView.model_validate_json(store.read_bytes(ref))
    except ObjectMissing as missing:
        raise AlignmentFailed(f"the alignment job wrote no report at {ref.uri}") from missing
    if not report.schema_version.startswith("1."):
        raise AlignmentFailed(f"unsupported alignment report version {report.schema_version}")
    return report


def review(
    report: ReportView, output_uri: str, job_name: str, provider: str, thresholds: Thresholds
) -> tuple[AlignmentResult, list[GateResult]]:
    base = output_uri.rstrip("/") + "/"
    gates: list[GateResult] = []
    for sync in report.syncs:
        gates.append(
            GateResult(
                name=f"caption-sync:{sync.captions_path}",
                passed=sync.score >= thresholds.alignment_min_score,
                score=sync.score,
                threshold=thresholds.alignment_min_score,
                reason=f"offset {sync.offset_s:+.2f} s, drift {sync.drift:.5f}, {sync.cues} cues",
            )
        )
    for path, audio in report.quality.get("audio", {}).items():
        clipping = float(audio.get("clipping_ratio", 0.0))
        gates.append(
            GateResult(
                name=f"audio-clipping:{path}",
                passed=clipping <= thresholds.audio_max_clipping_ratio,
                score=clipping,
                threshold=thresholds.audio_max_clipping_ratio,
                reason=f"{100 * clipping:.2f}% of samples clipped",
            )
        )
    for path, image in report.quality.get("images", {}).items():
        sharpness = float(image.get("sharpness", 0.0))
        gates.append(
            GateResult(
                name=f"image-sharpness:{path}",
                passed=sharpness >= thresholds.image_min_sharpness,
                score=sharpness,
                threshold=thresholds.image_min_sharpness,
                reason=f"Laplacian variance {sharpness:.1f} at "
                f"{image.get('width')}x{image.get('height')}",
            )
        )
    first_sync = report.syncs[0] if report.syncs else None
    result = AlignmentResult(
        provider=provider,
        job_name=job_name,
        output_uri=base,
        score=report.score,
        offset_s=first_sync.offset_s if first_sync else None,
        drift=first_sync.drift if first_sync else None,
        metrics={
            "quality": report.quality,
            "scenes": len(report.scenes),
            "warnings": report.warnings,
        },
        timeline=report.timeline[:TIMELINE_IN_RESULT],
        corrected_caption_uris={
            s.captions_path: base + s.corrected_captions
            for s in report.syncs
            if s.corrected_captions
        },
        keyframe_uris=[
            base + str(scene["keyframe"]) for scene in report.scenes if scene.get("keyframe")
        ],
    )
    return result, gates
