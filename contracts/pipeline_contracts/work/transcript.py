"""`results/transcript-<asset>.json`: one audio asset's transcript, normalised from
Transcribe's (or the local recogniser's) output by "Check transcript quality"."""

from __future__ import annotations

from pydantic import Field

from pipeline_contracts._base import Document
from pipeline_contracts.vocabulary import Provider


class TranscriptSegment(Document):
    start_s: float
    end_s: float
    text: str
    speaker: str | None = None
    confidence: float | None = None


class TranscriptWord(Document):
    start_s: float
    end_s: float
    text: str
    confidence: float
    speaker: str | None = None


class Transcript(Document):
    asset_id: str
    provider: Provider
    job_name: str
    language: str | None = None
    language_confidence: float | None = None
    text: str
    segments: list[TranscriptSegment] = Field(default_factory=list)
    words: list[TranscriptWord] = Field(default_factory=list)
    speakers: list[str] = Field(default_factory=list)
    mean_confidence: float | None = None
    speech_coverage: float | None = Field(
        default=None, description="Share of the media's duration covered by recognised words."
    )
    duration_s: float | None = None
    subtitle_uris: dict[str, str] = Field(default_factory=dict, description="format -> s3 URI")
