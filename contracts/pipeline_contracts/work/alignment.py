"""The alignment branch's work files: the job's report (`alignment/alignment.json`, written
by processing/job.py) and the gate's `AlignmentResult` (`results/alignment.json`).

The gate reads `score`, `syncs[].score`, `syncs[].segments[].score` and
`quality.audio.*.clipping_ratio`; `quality.images` holds the keyframes' quality (an image
asset is measured, and its sharpness judged, in the vision branch). Job and gate read and
write with this very module (the job unpacks the wheel shipped with its code), so a field
added here is added on both sides at once; renaming or removing one bumps `schema_version`
for readers outside the pipeline.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, SerializerFunctionWrapHandler, model_serializer

from pipeline_contracts._base import Document
from pipeline_contracts.vocabulary import Provider

REPORT_SCHEMA_VERSION = "1.0"
# The report keeps the first entries of the timeline; the whole of it is in timeline.jsonl.
TIMELINE_REPORT_LIMIT = 2000


class SyncSegment(Document):
    """A stretch of the captions heard at one offset (and drift): one for the whole file
    unless the captions come from another cut of the programme."""

    first_cue: int = Field(ge=0, description="Index of its first cue, in start order.")
    last_cue: int = Field(ge=0, description="Index of its last cue, in start order.")
    offset_s: float = Field(description="t' = drift * t + offset_s for the segment's cues.")
    drift: float
    score: float = Field(ge=0, le=1, description="Share of its cues confirmed by the speech.")
    agreeing_cues: int = Field(ge=0)


class CaptionBreak(Document):
    """Where two segments part ways: a stretch only the audio has (`inserted`, e.g. an ad
    break the captions' cut lacks) or only the captions have (`removed`)."""

    kind: Literal["inserted", "removed"]
    after_cue: int = Field(ge=0, description="The last cue before the break.")
    captions_s: float = Field(description="Caption time of the break (the gap's middle).")
    audio_s: float = Field(description="Audio time of the break (the gap's middle).")
    length_s: float = Field(ge=0)
    left_out_first: int | None = Field(
        default=None, description="First of the cues between the segments, left out."
    )
    left_out_last: int | None = None


class SyncOutcome(Document):
    """One captions file synchronised to the speech of one audio or video asset."""

    captions_path: str
    media_path: str
    offset_s: float = Field(
        description="Seconds added after scaling: t' = drift * t + offset_s (first segment)."
    )
    drift: float = Field(description="Rate applied to caption times; 1.0 means no drift.")
    score: float = Field(ge=0, le=1, description="Share of cues confirmed by the speech.")
    cues: int = Field(ge=0)
    agreeing_cues: int = Field(ge=0)
    corrected_captions: str | None = Field(
        default=None, description="Corrected WebVTT, relative to the alignment folder."
    )
    mapping: str = "corrected = drift * original + offset_s (per segment)"
    segments: list[SyncSegment] = Field(default_factory=list)
    breaks: list[CaptionBreak] = Field(default_factory=list)
    left_out_cues: int = Field(
        default=0, ge=0, description="Cues no stretch of the speech has (not in the output)."
    )


class Scene(Document):
    media_path: str
    start_s: float = Field(ge=0)
    end_s: float = Field(ge=0)
    keyframe: str = Field(description="JPEG of the scene's first frame, relative file.")


class AudioQuality(Document):
    duration_s: float = Field(ge=0)
    loudness_lufs: float | None = Field(
        default=None, description="Integrated loudness (ITU-R BS.1770-4 gating); None if silent."
    )
    rms_dbfs: float
    peak_dbfs: float
    silence_ratio: float = Field(ge=0, le=1)
    clipping_ratio: float = Field(ge=0, le=1)


class ImageQuality(Document):
    width: int = Field(ge=0)
    height: int = Field(ge=0)
    sharpness: float = Field(ge=0, description="Variance of the Laplacian of the grey image.")


class Quality(Document):
    audio: dict[str, AudioQuality] = Field(default_factory=dict)
    images: dict[str, ImageQuality] = Field(default_factory=dict)


class TimelineEntry(Document):
    """One moment of the item: a word, a caption cue or a scene (from the alignment job), or
    a transcript segment (added by fusion)."""

    start_s: float
    end_s: float
    kind: Literal["word", "cue", "scene", "segment"]
    text: str | None = None
    ref: str | None = Field(default=None, description="Source file (keyframe for scenes).")
    cue: int | None = Field(default=None, description="Index of the cue this entry falls in.")
    scene: int | None = Field(default=None, description="Index of the scene it falls in.")
    asset_id: str | None = Field(default=None, description="The transcript's asset (segments).")
    speaker: str | None = None

    @model_serializer(mode="wrap")
    def _only_what_applies(self, dump: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """A word has no keyframe and a scene no speaker: entries keep only their own fields
        (thousands of them per item; nulls would double the timeline's size)."""
        return {name: value for name, value in dump(self).items() if value is not None}


class TimelineCounts(Document):
    words: int = 0
    cues: int = 0
    scenes: int = 0
    in_report: int = 0
    full_timeline: str | None = Field(
        default=None, description="JSON Lines file with every entry, relative file."
    )


class AlignmentReport(Document):
    schema_version: Literal["1.0"] = "1.0"
    item_id: str | None = None
    score: float | None = Field(
        default=None, ge=0, le=1, description="Lowest sync score; None when nothing to align."
    )
    syncs: list[SyncOutcome] = Field(default_factory=list)
    scenes: list[Scene] = Field(default_factory=list)
    quality: Quality = Field(default_factory=Quality)
    timeline: list[TimelineEntry] = Field(default_factory=list)
    timeline_counts: TimelineCounts = Field(default_factory=TimelineCounts)
    warnings: list[str] = Field(default_factory=list)


class AlignmentMetrics(Document):
    quality: Quality = Field(default_factory=Quality)
    scenes: int = Field(default=0, ge=0, description="How many scenes the job found.")
    warnings: list[str] = Field(default_factory=list)


class AlignmentResult(Document):
    """`results/alignment.json`: the gate's summary of the report (details stay in it)."""

    provider: Provider
    job_name: str
    output_uri: str
    score: float | None = None
    offset_s: float | None = None
    drift: float | None = None
    metrics: AlignmentMetrics = Field(default_factory=AlignmentMetrics)
    timeline: list[TimelineEntry] = Field(default_factory=list)
    corrected_caption_uris: dict[str, str] = Field(default_factory=dict)
    keyframe_uris: list[str] = Field(default_factory=list)
