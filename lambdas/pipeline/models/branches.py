"""What each parallel branch returns, and the gate verdicts."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

BranchStatus = Literal["succeeded", "flagged", "failed", "skipped"]
Provider = Literal["aws", "local", "stub"]


class _Result(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GateResult(_Result):
    """One quality gate's verdict. `passed=False` flags the item; it does not hide it."""

    name: str
    passed: bool
    score: float | None = None
    threshold: float | None = None
    reason: str


class BranchFailure(_Result):
    """A branch that failed: what Step Functions caught, kept verbatim."""

    error: str
    cause: str


class AssetFailure(_Result):
    """One asset whose Map iteration failed; the branch's other assets went on."""

    asset_id: str
    error: str
    cause: str


class TranscriptSegment(_Result):
    start_s: float
    end_s: float
    text: str
    speaker: str | None = None
    confidence: float | None = None


class TranscriptWord(_Result):
    start_s: float
    end_s: float
    text: str
    confidence: float
    speaker: str | None = None


class Transcript(_Result):
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


class VisionAnalysis(_Result):
    """The model's structured answer about one asset (the schema the vision gate enforces)."""

    summary: str = Field(min_length=1)
    objects: list[str] = Field(default_factory=list)
    text_in_media: str | None = None
    tags: list[str] = Field(default_factory=list)
    safety_concerns: list[str] = Field(default_factory=list)
    relation_to_text: str | None = Field(
        default=None, description="How the paired text relates to the image or video."
    )


class VisionResult(_Result):
    asset_id: str
    provider: Provider
    model_id: str
    analysis: VisionAnalysis | None = None
    raw_output: str | None = Field(default=None, description="Kept when the output was invalid.")
    repaired: bool = False
    injection_signals: list[str] = Field(
        default_factory=list,
        description="Text aimed at the model found in the asset's text, file name or companions "
        "(a small heuristic, not a complete detector); a moderation answer is then 'review'.",
    )
    input_tokens: int = 0
    output_tokens: int = 0


class AlignmentResult(_Result):
    """The alignment job's summary (details live in its alignment.json)."""

    provider: Provider
    job_name: str
    output_uri: str
    score: float | None = None
    offset_s: float | None = None
    drift: float | None = None
    metrics: dict[str, Any] = Field(default_factory=dict)
    timeline: list[dict[str, Any]] = Field(default_factory=list)
    corrected_caption_uris: dict[str, str] = Field(default_factory=dict)
    keyframe_uris: list[str] = Field(default_factory=list)


class BranchOutcome(_Result):
    """One parallel branch's result, as fusion sees it. Large bodies are in `result_uri`.

    `failed`: the branch failed, or every one of its assets did (`failure` says why).
    `flagged`: a gate failed, or some of its assets failed (listed in `failed_assets`).
    """

    branch: Literal["audio", "vision", "alignment"]
    status: BranchStatus
    gates: list[GateResult] = Field(default_factory=list)
    failure: BranchFailure | None = None
    result_uris: list[str] = Field(default_factory=list)
    failed_assets: list[AssetFailure] = Field(
        default_factory=list, description="Assets whose analysis failed, each with its cause."
    )
