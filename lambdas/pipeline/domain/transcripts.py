"""A Transcribe (or local recogniser) output document -> the pipeline's `Transcript`, and the
transcript gate: confidence, speech coverage, and the language the manifest expected."""

from __future__ import annotations

import json
from statistics import fmean
from typing import Any

from pipeline.adapters.storage import ObjectMissing, ObjectStore, put_json
from pipeline.config import Thresholds
from pipeline.domain.gate_outcomes import record_gate_outcomes
from pipeline.domain.plans import load_asset
from pipeline_contracts.item import Asset, ObjectRef
from pipeline_contracts.naming import WorkFiles
from pipeline_contracts.outcomes import AssetResult, GateResult
from pipeline_contracts.states.check_transcript_quality import CheckTranscriptQualityInput
from pipeline_contracts.vocabulary import Provider
from pipeline_contracts.work.transcript import Transcript, TranscriptSegment, TranscriptWord

SEGMENT_PAUSE_S = 1.0


def normalise_transcript(
    document: dict[str, Any],
    asset: Asset,
    job_name: str,
    provider: Provider,
    subtitle_uris: dict[str, str],
) -> Transcript:
    results = document.get("results", {})
    words: list[TranscriptWord] = []
    for item in results.get("items", []):
        if item.get("type") != "pronunciation" or "start_time" not in item:
            continue
        best = (item.get("alternatives") or [{}])[0]
        words.append(
            TranscriptWord(
                start_s=float(item["start_time"]),
                end_s=float(item["end_time"]),
                text=str(best.get("content", "")),
                confidence=float(best.get("confidence", 0.0)),
                speaker=item.get("speaker_label"),
            )
        )
    text = " ".join(t.get("transcript", "") for t in results.get("transcripts", [])).strip()
    language = results.get("language_code")
    scores = results.get("language_identification") or []
    language_confidence = next(
        (float(s["score"]) for s in scores if s.get("code") == language), None
    )
    duration = asset.duration_s or (words[-1].end_s if words else None)
    spoken = sum(max(0.0, w.end_s - w.start_s) for w in words)
    return Transcript(
        asset_id=asset.asset_id,
        provider=provider,
        job_name=job_name,
        language=language,
        language_confidence=language_confidence,
        text=text,
        segments=_segments(results, words),
        words=words,
        speakers=sorted({w.speaker for w in words if w.speaker}),
        mean_confidence=round(fmean(w.confidence for w in words), 4) if words else None,
        speech_coverage=round(min(1.0, spoken / duration), 4) if duration else None,
        duration_s=duration,
        subtitle_uris=subtitle_uris,
    )


def _segments(results: dict[str, Any], words: list[TranscriptWord]) -> list[TranscriptSegment]:
    audio_segments = results.get("audio_segments") or []
    if audio_segments:
        return [
            TranscriptSegment(
                start_s=float(s["start_time"]),
                end_s=float(s["end_time"]),
                text=str(s.get("transcript", "")),
                speaker=s.get("speaker_label"),
            )
            for s in audio_segments
            if "start_time" in s
        ]
    # Older output has no audio_segments: split on pauses and speaker changes.
    segments: list[TranscriptSegment] = []
    current: list[TranscriptWord] = []
    for word in words:
        if current and (
            word.start_s - current[-1].end_s > SEGMENT_PAUSE_S
            or word.speaker != current[-1].speaker
        ):
            segments.append(_segment(current))
            current = []
        current.append(word)
    if current:
        segments.append(_segment(current))
    return segments


def _segment(words: list[TranscriptWord]) -> TranscriptSegment:
    return TranscriptSegment(
        start_s=words[0].start_s,
        end_s=words[-1].end_s,
        text=" ".join(w.text for w in words),
        speaker=words[0].speaker,
        confidence=round(fmean(w.confidence for w in words), 4),
    )


def transcript_gates(
    transcript: Transcript, thresholds: Thresholds, expected_language: str | None
) -> list[GateResult]:
    gates = [
        GateResult(
            name="transcript-confidence",
            passed=(transcript.mean_confidence or 0.0) >= thresholds.transcript_min_confidence,
            score=transcript.mean_confidence,
            threshold=thresholds.transcript_min_confidence,
            reason="no speech was recognised"
            if transcript.mean_confidence is None
            else f"mean word confidence {transcript.mean_confidence:.2f}",
        ),
        GateResult(
            name="transcript-coverage",
            passed=(transcript.speech_coverage or 0.0) >= thresholds.transcript_min_speech_coverage,
            score=transcript.speech_coverage,
            threshold=thresholds.transcript_min_speech_coverage,
            reason=f"speech covers {100 * (transcript.speech_coverage or 0.0):.0f}% of the media",
        ),
    ]
    if expected_language:
        detected = transcript.language or ""
        matches = detected.lower().startswith(expected_language.split("-")[0].lower())
        gates.append(
            GateResult(
                name="transcript-language",
                passed=matches,
                score=transcript.language_confidence,
                reason=f"expected {expected_language}, detected {detected or 'nothing'}",
            )
        )
    return gates


def check_transcript(
    request: CheckTranscriptQualityInput,
    store: ObjectStore,
    processed_bucket: str,
    provider: Provider,
    thresholds: Thresholds,
) -> AssetResult:
    """Read the job's output (and the subtitles it wrote), write the Transcript, judge it."""
    plan, asset = load_asset(store, request.plan_uri, request.asset_id)
    work = WorkFiles(request.work_prefix)
    key = work.transcript(request.job.job_name)
    document = json.loads(store.read_bytes(ObjectRef(bucket=processed_bucket, key=key)))
    subtitles = {}
    for extension in ("vtt", "srt"):
        ref = ObjectRef(bucket=processed_bucket, key=f"{key.removesuffix('.json')}.{extension}")
        try:
            store.size(ref)
            subtitles[extension] = ref.uri
        except ObjectMissing:
            pass
    transcript = normalise_transcript(document, asset, request.job.job_name, provider, subtitles)
    gates = transcript_gates(transcript, thresholds, plan.language)
    record_gate_outcomes(gates)
    uri = put_json(
        store,
        processed_bucket,
        work.result("transcript", asset.asset_id),
        transcript.model_dump(mode="json"),
    )
    return AssetResult(asset_id=asset.asset_id, result_uri=uri, gates=gates)
