"""Speech-to-text jobs: the protocol and Amazon Transcribe."""

from __future__ import annotations

from typing import Any, Literal, Protocol

import boto3
from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict

from pipeline.adapters.aws_errors import error_code, translated_aws_errors

JobStatus = Literal["QUEUED", "IN_PROGRESS", "COMPLETED", "FAILED"]


class TranscriptionJobSpec(BaseModel):
    model_config = ConfigDict(frozen=True)
    job_name: str
    media_uri: str
    media_format: str | None = None
    output_bucket: str
    output_key: str
    kms_key_id: str | None = None
    language_code: str | None = None
    vocabulary_name: str | None = None
    max_speakers: int = 10
    subtitle_formats: tuple[str, ...] = ("vtt", "srt")
    item_id: str = ""


class JobState(BaseModel):
    model_config = ConfigDict(frozen=True)
    job_name: str
    status: JobStatus
    transcript_uri: str | None = None
    failure_reason: str | None = None


class JobAlreadyExists(Exception):
    """A job of that name exists (a retried or duplicated start)."""


class SpeechJobs(Protocol):
    def start(self, spec: TranscriptionJobSpec) -> None: ...

    def state(self, job_name: str) -> JobState: ...

    def vocabulary_state(self, name: str, language_code: str, phrases: list[str]) -> str:
        """Create the vocabulary if missing; return READY, PENDING or FAILED."""
        ...


# Transcribe accepts these container formats by name; others are left for it to detect.
TRANSCRIBE_FORMATS = {"mp3", "mp4", "wav", "flac", "ogg", "amr", "webm", "m4a"}
# Batch jobs take audio sampled at 8 to 48 kHz, and refuse anything else after the wait.
TRANSCRIBE_SAMPLE_RATES_HZ = (8_000, 48_000)
# CreateVocabulary refuses a vocabulary over 50 KB (see `domain.transcription.vocabulary_bytes`).
TRANSCRIBE_MAX_VOCABULARY_BYTES = 50 * 1024


class TranscribeJobs:
    def __init__(self, client: Any | None = None) -> None:
        self._transcribe = client or boto3.client("transcribe")

    def start(self, spec: TranscriptionJobSpec) -> None:
        request: dict[str, Any] = {
            "TranscriptionJobName": spec.job_name,
            "Media": {"MediaFileUri": spec.media_uri},
            "OutputBucketName": spec.output_bucket,
            "OutputKey": spec.output_key,
            "Settings": {"ShowSpeakerLabels": True, "MaxSpeakerLabels": spec.max_speakers},
            "Subtitles": {"Formats": list(spec.subtitle_formats), "OutputStartIndex": 1},
            "Tags": [{"Key": "multimodal-pipeline:item-id", "Value": spec.item_id or "-"}],
        }
        if spec.media_format in TRANSCRIBE_FORMATS:
            request["MediaFormat"] = spec.media_format
        if spec.kms_key_id:
            request["OutputEncryptionKMSKeyId"] = spec.kms_key_id
        if spec.language_code:
            request["LanguageCode"] = spec.language_code
            if spec.vocabulary_name:
                request["Settings"]["VocabularyName"] = spec.vocabulary_name
        else:
            request["IdentifyLanguage"] = True
        try:
            with translated_aws_errors("Transcribe"):
                self._transcribe.start_transcription_job(**request)
        except ClientError as error:
            if error_code(error) == "ConflictException":
                raise JobAlreadyExists(spec.job_name) from error
            raise

    def state(self, job_name: str) -> JobState:
        with translated_aws_errors("Transcribe"):
            job = self._transcribe.get_transcription_job(TranscriptionJobName=job_name)[
                "TranscriptionJob"
            ]
        return JobState(
            job_name=job_name,
            status=job["TranscriptionJobStatus"],
            transcript_uri=job.get("Transcript", {}).get("TranscriptFileUri"),
            failure_reason=job.get("FailureReason"),
        )

    def vocabulary_state(self, name: str, language_code: str, phrases: list[str]) -> str:
        try:
            with translated_aws_errors("Transcribe"):
                return str(self._transcribe.get_vocabulary(VocabularyName=name)["VocabularyState"])
        except ClientError as error:
            if error_code(error) not in ("NotFoundException", "BadRequestException"):
                raise
        try:
            with translated_aws_errors("Transcribe"):
                self._transcribe.create_vocabulary(
                    VocabularyName=name, LanguageCode=language_code, Phrases=phrases
                )
        except ClientError as error:
            # Another asset of the item (the Map runs several at once) created it first.
            if error_code(error) != "ConflictException":
                raise
        return "PENDING"
