""" "Prepare media for the model": a JPEG within the model's limits, chunked text, or the
source itself (PDF, video), plus the item's text that accompanies the asset."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from pipeline_contracts._base import Message
from pipeline_contracts.states.analyze_each_visual_asset import VisionIteration
from pipeline_contracts.vocabulary import Modality
from pipeline_contracts.work.alignment import ImageQuality

PrepareMediaInput = VisionIteration


class PreparedMedia(Message):
    """`$.prepared`: small; the bodies are in the processed bucket or the ingest object."""

    asset_id: str
    path: str | None = Field(
        default=None, description="The asset's path in the item (names its quality gates)."
    )
    modality: Modality
    kind: Literal["image", "text", "document", "video"]
    input_uri: str = Field(description="What the model reads: prepared JPEG, chunks, or source.")
    input_format: str = Field(description="jpeg, chunks, pdf, or the video container.")
    input_bytes: int | None = None
    width: int | None = None
    height: int | None = None
    chunk_count: int = 0
    text_chars: int = 0
    companions_uri: str | None = None
    companion_count: int = 0
    quality: ImageQuality | None = Field(
        default=None,
        description="An image's resolution and sharpness, measured on the decoded image before "
        "it is resized; the vision gate judges the sharpness.",
    )
    warnings: list[str] = Field(default_factory=list)


PrepareMediaOutput = PreparedMedia
