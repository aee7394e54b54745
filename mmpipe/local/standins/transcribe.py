"""Transcribe stand-in, the job API: moto keeps the jobs and serves the API (so the pipeline's
real `TranscribeJobs` adapter runs); this adds what moto lacks. Requests are checked as
Transcribe checks them (the API model, its documented limits, the caller's access to the media
and the output location); the media is detected from its content (standins.media_probe), and
refused as the service refuses it (formats it does not take, sample rates outside 8-48 kHz,
over 4 hours); speech is recognised offline (standins.recognition) and written as
Transcribe-format JSON and subtitles (standins.transcripts); and the job's "Transcribe Job
State Change" event goes to EventBridge, as the service sends it.
"""

from __future__ import annotations

import json
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.credentials import ReadOnlyCredentials

from mmpipe.local.api_requests import RequestRejected, check_request
from mmpipe.local.faults import Faults
from mmpipe.local.iam.enforcement import Enforcement, current_principal, stored_size
from mmpipe.local.iam.identity import Principal, acting_as
from mmpipe.local.iam.policies import Permission
from mmpipe.local.quotas import EmulatedQuotas
from mmpipe.local.standins.media_probe import Media, MediaRefused, detect_media
from mmpipe.local.standins.recognition import Recognizer
from mmpipe.local.standins.transcripts import subtitles, transcribe_document
from mmpipe.local.template import REGION

# Transcribe's documented limits for batch jobs.
MAX_MEDIA_BYTES = 2 * 1024**3
MAX_DURATION_S = 4 * 3600
SAMPLE_RATES_HZ = (8_000, 48_000)
MAX_VOCABULARY_BYTES = 50 * 1024
_INTERCHANGEABLE = {"mp4": {"m4a"}, "m4a": {"mp4"}}


@dataclass
class LocalTranscribe:
    """The Transcribe stand-in behind moto (see moto_patches, Patch 7)."""

    recognizer: Recognizer
    faults: Faults
    service: ReadOnlyCredentials | None = None  # who the service acts as (the operator)
    enforcement: Enforcement | None = None
    workers: int = 2
    quotas: EmulatedQuotas | None = None
    _pool: ThreadPoolExecutor | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _clients: dict[str, Any] = field(default_factory=dict)

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
        # Last: a job refused for anything else never held a slot.
        if self.quotas is not None:
            self.quotas.transcribe_job_started(str(request["TranscriptionJobName"]))

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
        if self.quotas is not None:
            self.quotas.transcribe_job_ended(job.transcription_job_name)
        detail: dict[str, Any] = {
            "TranscriptionJobName": job.transcription_job_name,
            "TranscriptionJobStatus": job.status,
        }
        if job.failure_reason:
            detail["FailureReason"] = job.failure_reason
        if self.faults.transcribe_event_lost:
            return  # the job ended; its event is what gets lost
        self._client("events").put_events(
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
        s3 = self._client("s3")
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

    def _client(self, service: str) -> Any:
        """One client per service for the jobs (they sign as whoever acts, when they call)."""
        with self._lock:
            if service not in self._clients:
                self._clients[service] = boto3.client(service, region_name=REGION)
            return self._clients[service]

    @staticmethod
    def refuse_unless_transcribable(found: Media, wanted: str | None) -> None:
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
