"""The events that start or resume work outside the state machine's own tasks.

- S3 "Object Created" (via EventBridge and SQS): Powertools' `S3EventNotificationEventBridgeModel`
  is the contract; the dispatcher turns it into an `ItemRequest`.
- Transcribe "Transcribe Job State Change": resumes the waiting "Transcribe audio" task.
- Step Functions "Step Functions Execution Status Change": records endings outside the Catch,
  gives back capacity, removes a failed item's vectors from the search index.
- S3 "Object Deleted" on the processed bucket's results: removes the item's vectors.
Only the fields the pipeline reads are declared; the rest of each AWS event is ignored.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from pipeline_contracts._base import Message


class _AwsEvent(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class TranscribeJobStateChange(_AwsEvent):
    job_name: str = Field(alias="TranscriptionJobName")
    status: str = Field(alias="TranscriptionJobStatus")


class TranscribeJobEvent(_AwsEvent):
    detail: TranscribeJobStateChange


class ExecutionStatusChange(_AwsEvent):
    execution_arn: str = Field(alias="executionArn")
    name: str
    status: str
    input: str | None = None
    error: str | None = None
    cause: str | None = None


class ExecutionStatusEvent(_AwsEvent):
    detail: ExecutionStatusChange


class DeletedObject(_AwsEvent):
    key: str


class DeletedFromBucket(_AwsEvent):
    name: str


class ObjectDeleted(_AwsEvent):
    bucket: DeletedFromBucket
    object: DeletedObject


class ObjectDeletedEvent(_AwsEvent):
    """S3's "Object Deleted" (EventBridge): a result deleted from the processed bucket."""

    detail: ObjectDeleted


class CapacityReleased(Message):
    """What release_capacity gave back when an execution ended ("pool:holder" each)."""

    freed: list[str]


class JobStateHandled(Message):
    """What the transcription callback did with a job state change."""

    resumed: bool
    outcome: Literal["completed", "failed", "unknown"] | None = None


class VectorsForgotten(Message):
    """What forget_search_vectors removed from the search index."""

    item_id: str | None
    vectors: int


class EndingHandled(Message):
    """What the execution-endings recorder did with a status change."""

    recorded: bool
    status: str | None = None
