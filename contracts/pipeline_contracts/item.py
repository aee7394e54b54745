"""The item: the execution input (`ItemRequest`), the intake's plan of it (`ItemPlan`, stored
once at `plan_uri`, also the alignment job's input) and the summary the state carries.

Payloads stay small (Step Functions caps state data at 256 KB): anything large is
written to the processed bucket and passed as an S3 reference. The plan itself is one of
them: the state carries its `PlanSummary`, the plan is read from `plan_uri`.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from pipeline_contracts._base import Message
from pipeline_contracts.vocabulary import ItemKind, Modality, Profile, Relation, Role


class ObjectRef(Message):
    """One exact S3 object version."""

    bucket: str
    key: str
    version_id: str | None = None

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


class ItemRequest(Message):
    """The execution input the dispatcher builds from an S3 event."""

    item_id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,80}$")
    kind: ItemKind
    source: ObjectRef
    # For bundles: the folder holding the manifest and its assets.
    bundle_prefix: str | None = None
    received_at: str
    # For bundle files: how long to wait for a manifest before quarantining the file.
    manifest_wait_s: int | None = Field(default=None, ge=0)
    # S3's event sequencer: orders the events of one key (search keeps the newest version's
    # vectors). Hexadecimal; compared left-padded with zeros, as S3 documents.
    sequencer: str | None = Field(default=None, max_length=128)

    @property
    def version_order(self) -> str:
        """Sorts the versions of one object as they were written: the sequencer, then the
        time the event was received (for events without one)."""
        return f"{(self.sequencer or '').upper().rjust(64, '0')}|{self.received_at}"


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
    # Inputs that would pass the checks above and fail later in the pipeline.
    NO_CONTENT = "NO_CONTENT"
    UNSUPPORTED_SAMPLE_RATE = "UNSUPPORTED_SAMPLE_RATE"
    VOCABULARY_TOO_LARGE = "VOCABULARY_TOO_LARGE"
    PATHS_TOO_LONG = "PATHS_TOO_LONG"
    # Files under the bundle prefix that no bundle takes.
    MANIFEST_MISSING = "MANIFEST_MISSING"
    NOT_IN_MANIFEST = "NOT_IN_MANIFEST"
    MISNAMED_MANIFEST = "MISNAMED_MANIFEST"


class Rejection(Message):
    code: RejectionCode
    message: str = Field(description="One human sentence saying what is wrong and what to do.")
    asset_path: str | None = None


class Asset(Message):
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
    sample_rate_hz: int | None = Field(
        default=None, description="Of the first audio track, when the probe could read it."
    )
    has_audio: bool = False
    has_video: bool = False
    warnings: list[str] = Field(default_factory=list)


class BranchPlan(Message):
    """Which parallel branches have work, and their inputs."""

    audio: list[Asset] = Field(default_factory=list, description="Assets to transcribe.")
    vision: list[Asset] = Field(default_factory=list, description="Assets for the model.")
    alignment: bool = False


class _PlanFields(Message):
    """What the plan and its summary share: the item, the verdict, where work goes, job bounds."""

    item_id: str
    kind: ItemKind
    source: ObjectRef
    accepted: bool
    rejection: Rejection | None = None
    profile: Profile = "general"
    language: str | None = None
    # Every name below is derived from the item id when the plan is made, for a rejected item
    # too: nothing is filled in later.
    alignment_job_name: str = Field(description="Deterministic, service-safe (naming.py).")
    plan_uri: str = Field(description="s3:// URI of the whole plan (the steps and the job).")
    job_input_uri: str = Field(
        description="s3:// prefix the alignment job reads: the plan and Transcribe's output."
    )
    work_prefix: str = Field(description="Processed-bucket prefix for work files.")
    # Where the alignment job reads media and writes its report.
    media_uri: str
    alignment_output_uri: str
    # Duration-aware bounds, so a stuck job times out in proportion to its media, not never.
    transcribe_timeout_s: int = Field(ge=60)
    alignment_max_runtime_s: int = Field(ge=60)
    alignment_volume_size_gb: int = Field(ge=1)


class ItemPlan(_PlanFields):
    """The intake gate's answer: accepted with a plan, or rejected with a reason.

    Written once, to `plan_uri`. The state machine carries only its `PlanSummary`; the steps
    that need an asset, the vocabulary or the whole plan read it back (domain/plans.py).
    """

    vocabulary: list[str] | None = None
    assets: list[Asset] = Field(default_factory=list)
    branches: BranchPlan = BranchPlan()


class AssetTask(Message):
    """One Map iteration's work: which asset, and what the state machine routes on."""

    asset_id: str
    modality: Modality
    media_format: str = Field(description="The audio Map chooses extraction by it.")
    sample_rate_hz: int | None = Field(
        default=None, description="And by this: above 48 kHz, extraction resamples the audio."
    )


class BranchTasks(Message):
    """Which parallel branches have work: asset ids, not the assets."""

    audio: list[AssetTask] = Field(default_factory=list)
    vision: list[AssetTask] = Field(default_factory=list)
    alignment: bool = False


class PlanSummary(_PlanFields):
    """What the state machine carries instead of the ItemPlan (`$.plan`).

    Step Functions refuses a state or task result over 256 KB. A bundle within every
    documented limit (50 assets with 512-character paths, a vocabulary near Transcribe's
    50 KB) has a plan of well over 100 KB, and the state used to carry it in full, with every
    asset twice (in `assets` and in its branch). The summary keeps ids, names and URIs:
    about 100 bytes an asset, no paths, no vocabulary.
    """

    branches: BranchTasks = BranchTasks()

    @classmethod
    def of(cls, plan: ItemPlan) -> PlanSummary:
        return cls(
            **{name: getattr(plan, name) for name in _PlanFields.model_fields},
            branches=BranchTasks(
                audio=[_task(asset) for asset in plan.branches.audio],
                vision=[_task(asset) for asset in plan.branches.vision],
                alignment=plan.branches.alignment,
            ),
        )


def _task(asset: Asset) -> AssetTask:
    return AssetTask(
        asset_id=asset.asset_id,
        modality=asset.modality,
        media_format=asset.media_format,
        sample_rate_hz=asset.sample_rate_hz,
    )
