"""The published records, one per item, and the messages about them.

`ItemResult` (processed items), `QuarantineRecord` and `FailureRecord` are the contract
consumers rely on: a breaking change bumps SCHEMA_VERSION. docs/schemas/ holds their JSON
Schemas, generated from these models by `make schemas`. `ItemProcessed` is the detail of the
EventBridge event announcing a result; `DeadLetter` the failed-items queue's message.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from pipeline_contracts._base import Document, Message
from pipeline_contracts.cost import ItemCost
from pipeline_contracts.item import Asset, ObjectRef, Rejection
from pipeline_contracts.outcomes import BranchVerdict, GateResult, StepFailure
from pipeline_contracts.search import SearchIndexing
from pipeline_contracts.vocabulary import ItemKind, ItemStatus, Profile
from pipeline_contracts.work.alignment import AlignmentResult, TimelineEntry
from pipeline_contracts.work.fusion import FusedAnswer
from pipeline_contracts.work.transcript import Transcript
from pipeline_contracts.work.vision import VisionResult

# Bump on any breaking change to the published records (and their Literal below).
SCHEMA_VERSION = "1.0"

TerminalPlace = Literal["processed", "degraded", "quarantined", "failed"]


class Timings(Document):
    received_at: str
    started_at: str | None = None
    finished_at: str
    duration_s: float | None = None


class ItemResult(Document):
    schema_version: Literal["1.0"] = "1.0"
    item_id: str
    status: ItemStatus
    degraded_branches: list[str] = Field(default_factory=list)
    kind: ItemKind
    source: ObjectRef
    execution_arn: str | None = None
    profile: Profile
    assets: list[Asset]
    modalities: list[str]
    branches: list[BranchVerdict]
    transcripts: list[Transcript] = Field(default_factory=list)
    vision: list[VisionResult] = Field(default_factory=list)
    alignment: AlignmentResult | None = None
    gates: list[GateResult]
    fused: FusedAnswer | None = None
    timeline: list[TimelineEntry] = Field(default_factory=list)
    derived_files: dict[str, str] = Field(default_factory=dict, description="name -> s3 URI")
    model_ids: list[str] = Field(default_factory=list)
    timings: Timings
    # Added within 1.0: a field with a default is not a breaking change. Every record written
    # before it still validates (it reads as None), and readers that take the fields they know
    # (the Glue table's JSON SerDe, the ItemProcessed consumers, code reading the JSON) see
    # nothing change. The writer fills it for every record it writes. The one reader it can
    # surprise is a strict validator of the old schema file (additionalProperties is false):
    # such a reader regenerates from docs/schemas/, where the field now is.
    search: SearchIndexing | None = Field(
        default=None,
        description="Whether the item is in the search index, with its vector count, the "
        "embeddings made and the cache hits (None in records written before search existed).",
    )
    cost: ItemCost | None = Field(
        default=None,
        description="What the item cost, priced from its measured usage and a dated price "
        "table (None in records written before the field existed).",
    )


class QuarantineRecord(Document):
    schema_version: Literal["1.0"] = "1.0"
    item_id: str
    status: Literal["quarantined"] = "quarantined"
    kind: ItemKind
    source: ObjectRef
    reason: Rejection
    quarantined_copies: list[str] = Field(default_factory=list)
    execution_arn: str | None = None
    recorded_at: str


class FailureRecord(Document):
    schema_version: Literal["1.0"] = "1.0"
    item_id: str
    status: Literal["failed"] = "failed"
    source: ObjectRef | None = None
    failed_state: str | None = None
    failure: StepFailure
    execution_arn: str | None = None
    recorded_at: str


class ItemProcessed(Message):
    """The detail of the `ItemProcessed` event (source `multimodal-pipeline`)."""

    item_id: str
    status: ItemStatus
    profile: Profile
    degraded_branches: list[str]
    result_uri: str
    modalities: list[str]
    source: ObjectRef


class CaughtError(Message):
    """Step Functions' error output (`ResultPath: $.error` of a Catch)."""

    Error: str
    Cause: str = ""


class DeadLetter(Message):
    """A failed-items queue message: one per failed item, for people to act on. The state
    machine sends it with the execution input; the recorders outside it with the item id."""

    execution_arn: str | None
    request: dict[str, Any] | None = Field(
        default=None, description="The execution input, as it arrived (possibly malformed)."
    )
    item_id: str | None = None
    failed_state: str | None
    error: CaughtError
