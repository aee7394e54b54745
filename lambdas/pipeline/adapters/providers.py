"""The one seam between the handlers and the outside world.

Handlers ask `get_providers()` for every port they use: objects (S3), the model (Bedrock),
speech jobs (Transcribe), and, by the resource their environment names, parked task tokens
(DynamoDB), executions (Step Functions), dead letters (SQS), gate thresholds (SSM) and the
idempotency records of the result writer (DynamoDB, through Powertools). On AWS
these are the real adapters, built on first use (a cold start) and reused; local mode calls
`use_providers(...)` once with its own, and unit tests pass fakes straight into the domain
functions or install them here. No handler builds a client.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Protocol

from pipeline.adapters.executions import StepFunctionsExecutions
from pipeline.adapters.model import BedrockModelClient, ModelClient
from pipeline.adapters.queues import SqsDeadLetters
from pipeline.adapters.speech import SpeechJobs, TranscribeJobs
from pipeline.adapters.storage import ObjectStore, S3ObjectStore
from pipeline.adapters.task_tokens import TaskTokens
from pipeline.adapters.thresholds import SsmThresholds
from pipeline.config import Thresholds
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


class DeadLetters(Protocol):
    def send(self, message: DeadLetter) -> None: ...


class ThresholdSource(Protocol):
    def current(self) -> Thresholds: ...


@cache
def _task_tokens(table: str) -> TaskTokenStore:
    return TaskTokens(table)


@cache
def _executions(state_machine_arn: str) -> Executions:
    return StepFunctionsExecutions(state_machine_arn)


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
    thresholds: Callable[[str, int], ThresholdSource] = field(default=_thresholds)
    idempotency: Callable[[str], BasePersistenceLayer] = field(default=_idempotency)


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
