"""Every change local mode makes to moto, in one package. Pinned to moto 5.2.5.

Each patch says which moto behaviour it works around; they are numbered (Patch 1..30) and
grouped by the service they patch, one module each:

- `awslambda`: Patch 1 (handlers run in-process).
- `events`: Patches 2 and 14 (Lambda targets; injected EventBridge failures).
- `timing`: Patches 3, 12 and 13 (retry intervals, Waits, callback timeouts, SDK retries).
- `sfn_tasks`: Patches 4, 6 and 9 (SageMaker jobs, the state machine's credentials,
  SendTaskFailure's cause).
- `authorization`: Patch 5 (IAM decided by `iam.enforcement`).
- `transcribe`: Patch 7; `bedrock`: Patch 8 (Converse, and the embedding models' InvokeModel).
- `sfn_errors`: Patches 10, 11, 18 and 26 (States.* error names, string causes, Lambda's
  refusals named Lambda.<exception>).
- `sfn_executions`: Patches 15, 16, 17 and 25 (parser scopes, status-change events, state
  sizes, StartExecution's rate limit).
- `speed`: Patches 19 to 24 (work moto does again and again, or the slow way, for the same
  answer: the definition's parse, JSONPath parsers, backend and service-model lookups,
  execution histories' serialization, user agents, the interpreter's copies of JSON).
- `s3vectors`: Patches 27 to 30 (QueryVectors, the service's limits on writes and reads,
  the index's metadata configuration, ListVectors' pages).
- `shared`: the run's settings and moto's originals, which the patches share.

`install(...)` applies them all once per process; `uninstall()` restores moto (tests use it to
check the patches are reversible).
"""

from __future__ import annotations

import importlib

import moto
from botocore.credentials import ReadOnlyCredentials

from mmpipe.local.faults import Faults
from mmpipe.local.iam.enforcement import Enforcement
from mmpipe.local.moto_patches import (
    authorization,
    awslambda,
    dynamodb_atomic,
    events,
    sfn_errors,
    sfn_executions,
    sfn_tasks,
    speed,
    timing,
)
from mmpipe.local.moto_patches import bedrock as bedrock_patches
from mmpipe.local.moto_patches import s3vectors as s3vectors_patches
from mmpipe.local.moto_patches import transcribe as transcribe_patches
from mmpipe.local.moto_patches.shared import (
    LambdaRunner,
    ProcessingRunner,
    lock,
    originals,
    state,
)
from mmpipe.local.quotas import EmulatedQuotas
from mmpipe.local.standins.bedrock import LocalBedrock
from mmpipe.local.standins.embeddings import LocalEmbeddings
from mmpipe.local.standins.transcribe import LocalTranscribe

MOTO_VERSION = "5.2.5"
# Every patch module, in the order install() applies them; uninstall() restores in reverse.
PATCHES = (
    speed,
    dynamodb_atomic,
    authorization,
    sfn_tasks,
    transcribe_patches,
    bedrock_patches,
    s3vectors_patches,
    sfn_executions,
    events,
    timing,
    sfn_errors,
    awslambda,
)


def install(
    *,
    lambda_runner: LambdaRunner,
    processing_runner: ProcessingRunner,
    scale: float,
    transcribe: LocalTranscribe | None = None,
    bedrock: LocalBedrock | None = None,
    embeddings: LocalEmbeddings | None = None,
    enforcement: Enforcement | None = None,
    state_machine_credentials: ReadOnlyCredentials | None = None,
    faults: Faults | None = None,
    callback_floor_s: int | None = None,
    quotas: EmulatedQuotas | None = None,
) -> None:
    """Apply every patch (idempotent) and point them at this run's runners."""
    if moto.__version__ != MOTO_VERSION:
        raise RuntimeError(f"local mode is pinned to moto {MOTO_VERSION}; found {moto.__version__}")
    with lock:
        state.update(
            time_scale=scale,
            processing=processing_runner,
            enforcement=enforcement,
            state_machine_credentials=state_machine_credentials,
            transcribe=transcribe,
            bedrock=bedrock,
            embeddings=embeddings,
            faults=faults,
            callback_floor_s=callback_floor_s,
            quotas=quotas,
        )
        state["lambda"] = lambda_runner
        if originals:
            return
        _load_service_modules()
        for module in PATCHES:
            module.patch()


def uninstall() -> None:
    with lock:
        if not originals:
            return
        for module in reversed(PATCHES):
            module.restore()
        state.update(
            callback_floor_s=None,
            time_scale=1.0,
            processing=None,
            enforcement=None,
            state_machine_credentials=None,
            transcribe=None,
            bedrock=None,
            embeddings=None,
            faults=None,
            quotas=None,
        )
        state["lambda"] = None


_SERVICE_MODULES = "moto.stepfunctions.parser.asl.component.state.exec.state_task.service."


def _load_service_modules() -> None:
    """Import the interpreter's service integrations now, so rebind reaches them all."""
    for name in (
        "state_task_service_sqs",
        "state_task_service_aws_sdk",
        "state_task_service_sns",
        "state_task_service_events",
        "state_task_service_dynamodb",
        "state_task_service_sfn",
        "state_task_service_unsupported",
    ):
        importlib.import_module(_SERVICE_MODULES + name)
    importlib.import_module(
        "moto.stepfunctions.parser.asl.component.state.exec.state_task.lambda_eval_utils"
    )


def installed() -> bool:
    return bool(originals)
