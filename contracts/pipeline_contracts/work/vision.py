"""The vision branch's work files: a visual asset's prepared body and companions, the model's
raw reply (`model/<asset>.json`), and the checked `VisionResult` (`results/vision-<asset>.json`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from pipeline_contracts._base import Document, Message
from pipeline_contracts.vocabulary import Provider, Relation, Role
from pipeline_contracts.work.alignment import ImageQuality

# How a structured answer is asked for: "tool" forces the one answer tool, "any" forces some
# tool (the only one offered), "text" asks for JSON in the reply text (no tool support).
StructuredMode = Literal["tool", "any", "text"]


class TextChunk(Message):
    index: int = Field(ge=0)
    start: int = Field(ge=0, description="Offset of the chunk's first character in the text.")
    end: int = Field(ge=0)
    text: str


class TextChunks(Message):
    """`prepared/<asset>.json`, for a text asset: its cleaned text, chunked."""

    asset_id: str
    source_format: str
    total_chars: int
    chunk_chars: int
    overlap_chars: int
    chunks: list[TextChunk]


class CompanionText(Message):
    """A text asset of the same item, read as untrusted data for a visual asset's prompt."""

    asset_id: str
    path: str
    role: Role
    relation: Relation | None = None
    media_format: str
    text: str
    truncated: bool = False


class Companions(Message):
    """`prepared/<asset>-companions.json`: the text a visual asset's prompt carries."""

    asset_id: str
    companions: list[CompanionText]


class ToolUse(Message):
    """A `toolUse` block of the reply: the tool the model called and its JSON input."""

    name: str
    input: Any = Field(description="Untrusted until validated against the answer's model.")


class RawAnalysis(Document):
    """`model/<asset>.json`: the model's answer, verbatim, as stored for the gate and people."""

    asset_id: str
    model_id: str
    provider: Provider
    task: str = Field(description="What was asked, in one line; the repair call repeats it.")
    text: str = Field(description="The final reply (the merge reply for chunked text).")
    tool_use: ToolUse | None = Field(
        default=None, description="The final reply's answer-tool call: the answer, when asked so."
    )
    answer_via: StructuredMode = "text"
    injection_signals: list[str] = Field(
        default_factory=list,
        description="Text aimed at the model found in the prompts' data (a heuristic).",
    )
    stop_reason: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    calls: int = 1
    chunk_count: int = 0
    chunks_analyzed: int = 0
    chunk_replies: list[str] = Field(default_factory=list)


class VisionAnalysis(Document):
    """The model's structured answer about one asset (the schema the vision gate enforces)."""

    summary: str = Field(min_length=1)
    objects: list[str] = Field(default_factory=list)
    text_in_media: str | None = None
    tags: list[str] = Field(default_factory=list)
    safety_concerns: list[str] = Field(default_factory=list)
    relation_to_text: str | None = Field(
        default=None, description="How the paired text relates to the image or video."
    )


class VisionResult(Document):
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
    quality: ImageQuality | None = Field(
        default=None,
        description="For an image: its resolution and sharpness (variance of the Laplacian of "
        "the grey image, at most 4096 pixels a side), measured when it was prepared.",
    )
