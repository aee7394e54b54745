"""What flows through the state machine: the execution input and the intake plan.

Payloads stay small (Step Functions caps state data at 256 KB): anything large is
written to the processed bucket and passed as an S3 reference.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from pipeline.models.manifest import Profile, Relation, Role

Modality = Literal["image", "audio", "video", "text", "document", "captions"]
ItemKind = Literal["object", "bundle"]


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ObjectRef(_Payload):
    """One exact S3 object version."""

    bucket: str
    key: str
    version_id: str | None = None

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


class ItemRequest(_Payload):
    """The execution input the dispatcher builds from an S3 event."""

    item_id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,80}$")
    kind: ItemKind
    source: ObjectRef
    # For bundles: the folder holding the manifest and its assets.
    bundle_prefix: str | None = None
    received_at: str


class RejectionCode(StrEnum):
    """Machine-readable reasons an item is quarantined. Stable: consumers match on these."""

    EMPTY_OBJECT = "EMPTY_OBJECT"
    OBJECT_NOT_FOUND = "OBJECT_NOT_FOUND"
    UNSUPPORTED_TYPE = "UNSUPPORTED_TYPE"
    EXTENSION_MISMATCH = "EXTENSION_MISMATCH"
    CORRUPT_MEDIA = "CORRUPT_MEDIA"
    DECOMPRESSION_BOMB = "DECOMPRESSION_BOMB"
    TOO_LARGE = "TOO_LARGE"
    TOO_LONG = "TOO_LONG"
    INVALID_TEXT_ENCODING = "INVALID_TEXT_ENCODING"
    INVALID_MANIFEST = "INVALID_MANIFEST"
    UNSAFE_PATH = "UNSAFE_PATH"
    MISSING_ASSET = "MISSING_ASSET"
    TOO_MANY_ASSETS = "TOO_MANY_ASSETS"


class Rejection(_Payload):
    code: RejectionCode
    message: str = Field(description="One human sentence saying what is wrong and what to do.")
    asset_path: str | None = None


class Asset(_Payload):
    """One sniffed, validated input file."""

    asset_id: str = Field(pattern=r"^[a-z0-9-]{1,40}$")
    path: str = Field(description="Path inside the bundle, or the object's file name.")
    source: ObjectRef
    modality: Modality
    media_format: str = Field(description="Sniffed format, e.g. png, wav, mp4, webvtt.")
    mime_type: str
    size_bytes: int = Field(ge=1)
    role: Role = "primary"
    relation: Relation | None = None
    syncs_with: str | None = None
    duration_s: float | None = None
    width: int | None = None
    height: int | None = None
    has_audio: bool = False
    has_video: bool = False
    warnings: list[str] = Field(default_factory=list)


class BranchPlan(_Payload):
    """Which parallel branches have work, and their inputs."""

    audio: list[Asset] = Field(default_factory=list, description="Assets to transcribe.")
    vision: list[Asset] = Field(default_factory=list, description="Assets for the model.")
    alignment: bool = False


class ItemPlan(_Payload):
    """The intake gate's answer: accepted with a plan, or rejected with a reason."""

    item_id: str
    kind: ItemKind
    source: ObjectRef
    accepted: bool
    rejection: Rejection | None = None
    profile: Profile = "general"
    language: str | None = None
    vocabulary: list[str] | None = None
    assets: list[Asset] = Field(default_factory=list)
    branches: BranchPlan = BranchPlan()
    # Deterministic, service-safe names derived from the item id.
    alignment_job_name: str = ""
    plan_uri: str = Field(default="", description="s3:// URI of this plan, for the alignment job.")
    work_prefix: str = Field(default="", description="Processed-bucket prefix for work files.")
    # Where the alignment job reads media and writes its report (filled by the intake handler).
    media_uri: str = ""
    alignment_output_uri: str = ""
    # Duration-aware bounds, so a stuck job times out in proportion to its media, not never.
    transcribe_timeout_s: int = Field(default=3600, ge=60)
    alignment_max_runtime_s: int = Field(default=3600, ge=60)
    alignment_volume_size_gb: int = Field(default=30, ge=1)
