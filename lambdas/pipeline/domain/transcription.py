"""Starting Transcribe jobs and turning their output into a Transcript with a quality gate."""

from __future__ import annotations

import hashlib
import re
import tempfile
from pathlib import Path
from statistics import fmean
from typing import Any, Literal, Protocol

from pydantic import BaseModel

from pipeline.adapters.speech import JobState, SpeechJobs, TranscriptionJobSpec
from pipeline.adapters.storage import ObjectStore
from pipeline.config import Thresholds
from pipeline.domain.audio_extraction import extract_audio
from pipeline.domain.plans import find_asset, load_asset
from pipeline.errors import (
    ServiceThrottled,
    ServiceUnavailable,
    TranscriptionFailed,
    TranscriptionTimedOut,
    VocabularyPending,
)
from pipeline.models.branches import GateResult, Transcript, TranscriptSegment, TranscriptWord
from pipeline.models.item import Asset, ItemPlan

TRANSCRIBE_LANGUAGE = re.compile(r"^[a-z]{2}-[A-Z]{2}$")
# Transcribe vocabulary phrases: letters, digits (spelled), apostrophes, hyphens, periods, spaces.
PHRASE_ALLOWED = re.compile(r"[^\w' .-]+", re.UNICODE)
SEGMENT_PAUSE_S = 1.0


class TranscribeMedia(BaseModel):
    """Audio extracted for Transcribe from a container it does not take."""

    bucket: str
    key: str
    media_format: str


class ExtractRequest(BaseModel):
    """What "Extract audio track" gets: the asset by id (the asset is read from the plan)."""

    asset_id: str
    item_id: str
    plan_uri: str
    work_prefix: str


class StartRequest(BaseModel):
    """What "Transcribe audio" gets; the language and vocabulary are read from the plan."""

    task_token: str
    asset_id: str
    item_id: str
    plan_uri: str
    work_prefix: str
    media: TranscribeMedia | None = None  # set when the asset's own container will not do


def extract_for_transcribe(
    request: ExtractRequest, store: ObjectStore, processed_bucket: str
) -> TranscribeMedia:
    """Copy the asset's audio into a container Transcribe takes, next to the item's work."""
    _, asset = load_asset(store, request.plan_uri, request.asset_id)
    with tempfile.TemporaryDirectory(prefix="extract-") as scratch:
        source = Path(scratch) / "source"
        store.download(asset.source, source)
        extracted = extract_audio(source, Path(scratch))
        key = f"{request.work_prefix}audio/{asset.asset_id}{extracted.path.suffix}"
        store.put_bytes(
            processed_bucket, key, extracted.path.read_bytes(), "application/octet-stream"
        )
    return TranscribeMedia(bucket=processed_bucket, key=key, media_format=extracted.media_format)


def job_name_for(item_id: str, asset_id: str) -> str:
    return f"mmp-{item_id}-{asset_id}"[:200]


def transcript_key(work_prefix: str, job_name: str) -> str:
    return f"{work_prefix}transcripts/{job_name}.json"


def vocabulary_name_for(language: str, phrases: list[str]) -> str:
    digest = hashlib.sha256("\n".join([language, *phrases]).encode()).hexdigest()[:32]
    return f"mmp-{digest}"


def clean_phrases(phrases: list[str]) -> list[str]:
    cleaned = (PHRASE_ALLOWED.sub(" ", phrase).strip() for phrase in phrases)
    return sorted({" ".join(p.split()) for p in cleaned if p})


def vocabulary_bytes(phrases: list[str]) -> int:
    """The size counted against Transcribe's vocabulary limit: the phrases `job_spec` submits
    (cleaned), one a line in UTF-8, as in a vocabulary file."""
    return len("\n".join(clean_phrases(phrases)).encode("utf-8"))


def job_spec(
    request: StartRequest,
    plan: ItemPlan,
    processed_bucket: str,
    speech: SpeechJobs,
    kms_key_id: str | None = None,
) -> TranscriptionJobSpec:
    """The job to start, for the request's asset of `plan`, in the plan's language with its
    vocabulary; raises VocabularyPending while a custom vocabulary is being built."""
    asset = find_asset(plan, request.asset_id)
    language = plan.language if plan.language and TRANSCRIBE_LANGUAGE.match(plan.language) else None
    vocabulary_name = None
    phrases = clean_phrases(plan.vocabulary or [])
    if language and phrases:
        vocabulary_name = vocabulary_name_for(language, phrases)
        state = speech.vocabulary_state(vocabulary_name, language, phrases)
        if state == "PENDING":
            raise VocabularyPending(vocabulary_name)
        if state != "READY":
            vocabulary_name = None  # A failed vocabulary must not block the transcript.
    name = job_name_for(request.item_id, asset.asset_id)
    media = request.media
    return TranscriptionJobSpec(
        job_name=name,
        media_uri=f"s3://{media.bucket}/{media.key}"
        if media
        else f"s3://{asset.source.bucket}/{asset.source.key}",
        media_format=media.media_format if media else asset.media_format,
        output_bucket=processed_bucket,
        output_key=transcript_key(request.work_prefix, name),
        kms_key_id=kms_key_id,
        language_code=language,
        vocabulary_name=vocabulary_name,
        item_id=request.item_id,
    )


def callback_output(state: JobState) -> dict[str, Any]:
    """What the waiting 'Transcribe audio' task receives when the job completed."""
    if state.status == "FAILED":
        raise TranscriptionFailed(state.failure_reason or "Transcribe reported FAILED")
    return {
        "job_name": state.job_name,
        "status": state.status,
        "transcript_uri": state.transcript_uri,
    }


class TaskResponder(Protocol):
    """Answers the execution waiting on a task token (adapters.task_tokens.TaskTokens)."""

    def resume(self, task_token: str, output: dict[str, Any]) -> None: ...

    def fail(self, task_token: str, error: str, cause: str) -> None: ...


def report_job_outcome(
    job_name: str, task_token: str, speech: SpeechJobs, responder: TaskResponder
) -> Literal["completed", "failed", "unknown"]:
    """Tell the waiting task how the job ended. Asks the service rather than trusting the
    event's copy. When the outcome cannot be learned for a reason that will not pass (access
    denied, a job that vanished), the task is failed with that reason at once: a callback that
    gives up silently would leave the item waiting out its timeout. Transient faults raise, so
    the event is retried with the token still parked."""
    try:
        output = callback_output(speech.state(job_name))
    except TranscriptionFailed as failure:
        responder.fail(task_token, "TranscriptionFailed", str(failure))
        return "failed"
    except (ServiceThrottled, ServiceUnavailable):
        raise
    except Exception as error:  # reported to the execution, by class name
        responder.fail(task_token, type(error).__name__, f"{type(error).__name__}: {error}")
        return "unknown"
    responder.resume(task_token, output)
    return "completed"


def normalise_transcript(
    document: dict[str, Any],
    asset: Asset,
    job_name: str,
    provider: str,
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


def recover_after_timeout(job_name: str, speech: SpeechJobs) -> dict[str, Any]:
    """The wait for the job's completion event timed out. The event may be what was lost (an
    EventBridge delivery that never came, a callback that failed): ask the service once, and
    resume with the job's result if it finished, as the callback would have."""
    state = speech.state(job_name)
    if state.status in ("COMPLETED", "FAILED"):
        return callback_output(state)  # raises TranscriptionFailed for FAILED
    raise TranscriptionTimedOut(
        f"Transcription job {job_name} was still {state.status} when the item's transcribe "
        "timeout passed; its asset ends failed (long media: raise transcribe_timeout_s)."
    )
