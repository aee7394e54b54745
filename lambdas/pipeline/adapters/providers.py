"""The one seam between the handlers and the outside world.

Handlers ask `get_providers()` for every port they use: objects (S3), the model (Bedrock),
speech jobs (Transcribe), executions' histories (Step Functions), and, by the resource their
environment names, parked task tokens (DynamoDB), executions (Step Functions), dead letters
(SQS), gate thresholds (SSM), the idempotency records of the result writer (DynamoDB, through
Powertools), the capacity ledger of admission control (DynamoDB) and the clock its quota
windows run on. On AWS these are the real adapters, built on first use (a cold start) and
reused; local mode calls `use_providers(...)` once with its own, and unit tests pass fakes
straight into the domain functions or install them here. No handler builds a client.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol

from pipeline.adapters.capacity import DynamoDbCapacity
from pipeline.adapters.embeddings import BedrockEmbedder, Embedder
from pipeline.adapters.executions import StepFunctionsExecutions
from pipeline.adapters.history import StepFunctionsHistory
from pipeline.adapters.model import BedrockModelClient, ModelClient
from pipeline.adapters.queues import SqsDeadLetters
from pipeline.adapters.search_ledger import DynamoDbSearchLedger
from pipeline.adapters.speech import SpeechJobs, TranscribeJobs
from pipeline.adapters.storage import ObjectStore, S3ObjectStore
from pipeline.adapters.task_tokens import TaskTokens
from pipeline.adapters.thresholds import SsmThresholds
from pipeline.adapters.vector_index import S3VectorIndex
from pipeline.config import Quotas, Thresholds
from pipeline.domain.admission import AdmittedEmbedder, AdmittedModel, CapacityLedger
from pipeline_contracts.item import ItemRequest
from pipeline_contracts.records import DeadLetter
from pipeline_contracts.states.transcribe_audio import TranscriptionJob
from pipeline_contracts.vocabulary import Provider

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer


class TaskTokenStore(Protocol):
    def park(self, job_name: str, task_token: str, item_id: str) -> None: ...
    def take(self, job_name: str) -> tuple[str, str] | None: ...
    def forget(self, job_name: str) -> None: ...
    def resume(self, task_token: str, output: TranscriptionJob) -> None: ...
    def fail(self, task_token: str, error: str, cause: str) -> None: ...


class Executions(Protocol):
    def start(self, request: ItemRequest) -> bool: ...
    def exists(self, name: str) -> bool: ...


class ExecutionHistory(Protocol):
    def events(self, execution_arn: str) -> list[dict[str, Any]]: ...


class DeadLetters(Protocol):
    def send(self, message: DeadLetter) -> None: ...


class ThresholdSource(Protocol):
    def current(self) -> Thresholds: ...


@cache
def _task_tokens(table: str) -> TaskTokenStore:
    return TaskTokens(table)


@cache
def _capacity(table: str) -> CapacityLedger:
    return DynamoDbCapacity(table)


@cache
def _executions(state_machine_arn: str) -> Executions:
    return StepFunctionsExecutions(state_machine_arn)


@cache
def _history() -> ExecutionHistory:
    return StepFunctionsHistory()


@cache
def _dead_letters(queue_url: str) -> DeadLetters:
    return SqsDeadLetters(queue_url)


@cache
def _idempotency(table: str) -> BasePersistenceLayer:
    # Imported here: only the result writer needs it, and it costs every other cold start.
    from aws_lambda_powertools.utilities.idempotency import (  # noqa: PLC0415
        DynamoDBPersistenceLayer,
    )

    return DynamoDBPersistenceLayer(table_name=table)


@cache
def _embedder(model_id: str, dimension: int) -> Embedder:
    return BedrockEmbedder(model_id, dimension)


@cache
def _vector_index(bucket: str, index: str) -> S3VectorIndex:
    return S3VectorIndex(bucket, index)


@cache
def _search_ledger(table: str) -> DynamoDbSearchLedger:
    return DynamoDbSearchLedger(table)


def _thresholds(path: str, max_age_s: int) -> ThresholdSource:
    return SsmThresholds(path, max_age_s)


@dataclass(frozen=True)
class Providers:
    store: ObjectStore
    model: ModelClient
    speech: SpeechJobs
    name: Provider = "aws"
    task_tokens: Callable[[str], TaskTokenStore] = field(default=_task_tokens)
    executions: Callable[[str], Executions] = field(default=_executions)
    dead_letters: Callable[[str], DeadLetters] = field(default=_dead_letters)
    # An execution's own history: the result writer measures what the item used from it.
    history: Callable[[], ExecutionHistory] = field(default=_history)
    thresholds: Callable[[str, int], ThresholdSource] = field(default=_thresholds)
    idempotency: Callable[[str], BasePersistenceLayer] = field(default=_idempotency)
    capacity: Callable[[str], CapacityLedger] = field(default=_capacity)
    # Seconds since the epoch. Quota windows are measured on it: local mode passes a clock
    # that runs as fast as its time scale, so admission control sees the emulated minute.
    clock: Callable[[], float] = field(default=time.time)

    # Search: the embedding model (by id and dimension), the S3 Vectors index (by bucket and
    # index name) and the search ledger (by table).
    embedder: Callable[[str, int], Embedder] = field(default=_embedder)
    vector_index: Callable[[str, str], S3VectorIndex] = field(default=_vector_index)
    search_ledger: Callable[[str], DynamoDbSearchLedger] = field(default=_search_ledger)

    def admitted_embedder(
        self, capacity_table: str, quotas: Quotas, model_id: str, dimension: int
    ) -> Embedder:
        """The embedding model behind admission control, as `admitted_model` is."""
        return AdmittedEmbedder(
            self.embedder(model_id, dimension), self.capacity(capacity_table), quotas, self.clock
        )

    def admitted_model(self, capacity_table: str, quotas: Quotas) -> ModelClient:
        """The model behind admission control: each call first takes its requests and tokens
        from the shared ledger, or raises CapacityUnavailable."""
        return AdmittedModel(self.model, self.capacity(capacity_table), quotas, self.clock)


_current: Providers | None = None


def get_providers() -> Providers:
    """The providers in use; built on first use (a cold start) and then reused."""
    global _current  # noqa: PLW0603 - one process-wide seam, set once per cold start
    if _current is None:
        _current = Providers(
            store=S3ObjectStore(), model=BedrockModelClient(), speech=TranscribeJobs()
        )
    return _current


def use_providers(providers: Providers | None) -> None:
    """Install stand-ins (local mode) or, with None, go back to the AWS defaults."""
    global _current  # noqa: PLW0603
    _current = providers
