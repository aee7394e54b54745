"""The published records: ItemResult (processed items), quarantine and failure records.

ItemResult is the contract consumers rely on; a breaking change bumps SCHEMA_VERSION.
The JSON Schemas in docs/schemas/ are generated from these models by `make schemas`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pipeline.models.branches import (
    AlignmentResult,
    BranchFailure,
    BranchOutcome,
    GateResult,
    Transcript,
    VisionResult,
)
from pipeline.models.item import Asset, ItemKind, Modality, ObjectRef, Rejection
from pipeline.models.manifest import Profile

# Bump on any breaking change to the published records (and their Literal below).
SCHEMA_VERSION = "1.0"

TerminalPlace = Literal["processed", "degraded", "quarantined", "failed"]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FusedOutput(_Record):
    """The cross-modal answer for the item's profile."""

    profile: Profile
    provider: Literal["aws", "local", "stub"]
    model_id: str
    title: str
    summary: str
    key_points: list[str] = Field(default_factory=list)
    # Profile-specific fields (catalog attributes, moderation labels, alt text, chapters...).
    details: dict[str, Any] = Field(default_factory=dict)
    consistency: str | None = Field(default=None, description="Where modalities agree or disagree.")
    overrides: list[str] = Field(
        default_factory=list,
        description="Where the pipeline changed the model's answer after it answered, and why "
        "(a moderation 'allow' becomes 'review' on safety concerns or text aimed at the model).",
    )


class Timings(_Record):
    received_at: str
    started_at: str | None = None
    finished_at: str
    duration_s: float | None = None


class ItemResult(_Record):
    schema_version: Literal["1.0"] = "1.0"
    item_id: str
    status: Literal["processed", "degraded"]
    degraded_branches: list[str] = Field(default_factory=list)
    kind: ItemKind
    source: ObjectRef
    execution_arn: str | None = None
    profile: Profile
    assets: list[Asset]
    modalities: list[str]
    branches: list[BranchOutcome]
    transcripts: list[Transcript] = Field(default_factory=list)
    vision: list[VisionResult] = Field(default_factory=list)
    alignment: AlignmentResult | None = None
    gates: list[GateResult]
    fused: FusedOutput | None = None
    timeline: list[dict[str, Any]] = Field(default_factory=list)
    derived_files: dict[str, str] = Field(default_factory=dict, description="name -> s3 URI")
    model_ids: list[str] = Field(default_factory=list)
    timings: Timings


class QuarantineRecord(_Record):
    schema_version: Literal["1.0"] = "1.0"
    item_id: str
    status: Literal["quarantined"] = "quarantined"
    kind: ItemKind
    source: ObjectRef
    reason: Rejection
    quarantined_copies: list[str] = Field(default_factory=list)
    execution_arn: str | None = None
    recorded_at: str


class FailureRecord(_Record):
    schema_version: Literal["1.0"] = "1.0"
    item_id: str
    status: Literal["failed"] = "failed"
    source: ObjectRef | None = None
    failed_state: str | None = None
    failure: BranchFailure
    execution_arn: str | None = None
    recorded_at: str


class FusionDraft(_Record):
    """What fusion hands to the final gate and the result writer (work/<item>/fusion.json).

    Branch bodies stay in their own files (BranchOutcome.result_uris); the writer inlines them.
    """

    item_id: str
    modalities: list[Modality] = Field(
        description="What the item holds, from its plan: the final gate checks each was understood."
    )
    branches: list[BranchOutcome]
    degraded_branches: list[str] = Field(default_factory=list)
    fused: FusedOutput | None = None
    fusion_gate: GateResult
    gates: list[GateResult] = Field(description="Every gate verdict so far, fusion's included.")
    timeline: list[dict[str, Any]] = Field(default_factory=list)
    model_ids: list[str] = Field(default_factory=list)
