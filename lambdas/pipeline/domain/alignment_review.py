"""The alignment gate: read the job's alignment.json and judge sync and audio quality.

Image sharpness is judged by the vision gate, on the image it decoded; the keyframes' quality
stays in the report and the result's metrics.

The report's schema is `pipeline_contracts.work.alignment.AlignmentReport`, installed in the
job and here at the same version: what the job writes is exactly what the gate reads.
"""

from __future__ import annotations

from pipeline.adapters.storage import ObjectMissing, ObjectStore, parse_s3_uri, put_json
from pipeline.config import Thresholds
from pipeline.domain.gate_outcomes import record_gate_outcomes
from pipeline.errors import AlignmentFailed
from pipeline_contracts.naming import WorkFiles
from pipeline_contracts.outcomes import GateResult
from pipeline_contracts.states.check_alignment_quality import (
    AlignmentChecked,
    CheckAlignmentQualityInput,
)
from pipeline_contracts.vocabulary import Provider
from pipeline_contracts.work.alignment import (
    AlignmentMetrics,
    AlignmentReport,
    AlignmentResult,
    SyncOutcome,
)

REPORT_FILE = "alignment.json"
TIMELINE_IN_RESULT = 500


def read_report(store: ObjectStore, output_uri: str) -> AlignmentReport:
    ref = parse_s3_uri(output_uri.rstrip("/") + "/" + REPORT_FILE)
    try:
        return AlignmentReport.model_validate_json(store.read_bytes(ref))
    except ObjectMissing as missing:
        raise AlignmentFailed(f"the alignment job wrote no report at {ref.uri}") from missing
    except ValueError as invalid:  # pydantic's ValidationError included
        raise AlignmentFailed(
            f"the alignment report at {ref.uri} is invalid: {invalid}"
        ) from invalid


def check_alignment(
    request: CheckAlignmentQualityInput,
    store: ObjectStore,
    processed_bucket: str,
    provider: Provider,
    thresholds: Thresholds,
) -> AlignmentChecked:
    output_uri = request.plan.alignment_output_uri
    result, gates = review(
        read_report(store, output_uri), output_uri, request.job.job_name, provider, thresholds
    )
    record_gate_outcomes(gates)
    uri = put_json(
        store,
        processed_bucket,
        WorkFiles(request.plan.work_prefix).result("alignment"),
        result.model_dump(mode="json"),
    )
    return AlignmentChecked(result_uri=uri, gates=gates)


def review(
    report: AlignmentReport,
    output_uri: str,
    job_name: str,
    provider: Provider,
    thresholds: Thresholds,
) -> tuple[AlignmentResult, list[GateResult]]:
    base = output_uri.rstrip("/") + "/"
    gates: list[GateResult] = []
    for sync in report.syncs:
        gates.extend(_sync_gates(sync, thresholds.alignment_min_score))
    for path, audio in report.quality.audio.items():
        clipping = audio.clipping_ratio
        gates.append(
            GateResult(
                name=f"audio-clipping:{path}",
                passed=clipping <= thresholds.audio_max_clipping_ratio,
                score=clipping,
                threshold=thresholds.audio_max_clipping_ratio,
                reason=f"{100 * clipping:.2f}% of samples clipped",
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
        metrics=AlignmentMetrics(
            quality=report.quality, scenes=len(report.scenes), warnings=report.warnings
        ),
        timeline=report.timeline[:TIMELINE_IN_RESULT],
        corrected_caption_uris={
            s.captions_path: base + s.corrected_captions
            for s in report.syncs
            if s.corrected_captions
        },
        keyframe_uris=[base + scene.keyframe for scene in report.scenes if scene.keyframe],
    )
    return result, gates


def _sync_gates(sync: SyncOutcome, threshold: float) -> list[GateResult]:
    """The file's gate, and with captions from another cut one per segment: each stretch must
    be confirmed on its own, so a good majority cannot carry a misplaced stretch through."""
    reason = f"offset {sync.offset_s:+.2f} s, drift {sync.drift:.5f}, {sync.cues} cues"
    if len(sync.segments) > 1:
        found = "; ".join(f"{b.kind} {b.length_s:.1f} s at {b.audio_s:.1f} s" for b in sync.breaks)
        reason = (
            f"{len(sync.segments)} segments (first at offset {sync.offset_s:+.2f} s), "
            f"drift {sync.drift:.5f}, {sync.cues} cues; breaks: {found}"
        )
    if sync.left_out_cues:
        reason += f"; {sync.left_out_cues} cues left out (no speech for them)"
    gates = [
        GateResult(
            name=f"caption-sync:{sync.captions_path}",
            passed=sync.score >= threshold,
            score=sync.score,
            threshold=threshold,
            reason=reason,
        )
    ]
    if len(sync.segments) > 1:
        gates += [
            GateResult(
                name=f"caption-sync:{sync.captions_path}:cues {s.first_cue}-{s.last_cue}",
                passed=s.score >= threshold,
                score=s.score,
                threshold=threshold,
                reason=f"offset {s.offset_s:+.2f} s, {s.last_cue - s.first_cue + 1} cues, "
                f"{s.agreeing_cues} confirmed",
            )
            for s in sync.segments
        ]
    return gates
