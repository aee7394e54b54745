"""Every change local mode makes to moto, in one place. Pinned to moto 5.2.5.

Each patch says which moto behaviour it works around. `install(...)` applies them all once
per process; `uninstall()` restores moto (tests use it to check the patches are reversible).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import math
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import boto3
import botocore.endpoint as botocore_endpoint
import moto
from botocore.config import Config
from botocore.credentials import ReadOnlyCredentials
from moto.awslambda_simple.models import LambdaSimpleBackend, lambda_simple_backends
from moto.bedrockruntime.responses import BedrockRuntimeResponse
from moto.core.authorization import ActionAuthenticatorMixin
from moto.core.responses import ActionResult, EmptyResult
from moto.events.models import EventsBackend, Rule, events_backends
from moto.moto_api import state_manager
from moto.stepfunctions.parser import quotas
from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import (
    CustomErrorName,
)
from moto.stepfunctions.parser.asl.component.common.error_name.error_equals_decl import (
    ErrorEqualsDecl,
)
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (
    StatesErrorName,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
    StatesErrorNameType,
)
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl as _retrier_decl
from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import Timeout
from moto.stepfunctions.parser.asl.component.state.exec.execute_state import ExecutionState
from moto.stepfunctions.parser.asl.component.state.exec.state_task import (
    state_task_factory as _state_task_factory,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_factory,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import (
    ResourceCondition,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (  # noqa: E501
    StateTaskServiceCallback,
)
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import (
    WaitFunction,
)
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor
from moto.stepfunctions.parser.asl.utils import boto_client as _boto_client
from moto.stepfunctions.parser.asl.utils.encoding import to_json_str
from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication
from moto.stepfunctions.responses import StepFunctionResponse
from moto.transcribe.models import TranscribeBackend
from moto.transcribe.responses import TranscribeResponse

from mmpipe.local.faults import Faults
from mmpipe.local.iam import identity
from mmpipe.local.iam.enforcement import Enforcement
from mmpipe.local.standins.model import LocalBedrock
from mmpipe.local.standins.sagemaker import CreationRefused
from mmpipe.local.standins.speech import LocalTranscribe

MOTO_VERSION = "5.2.5"

# Module objects whose globals we re-bind (typed loosely: moto does not export these names).
retrier_decl: Any = _retrier_decl
state_task_factory: Any = _state_task_factory
boto_client: Any = _boto_client

# Runs a Lambda: (function name, handler path "module.function", event) -> result.
LambdaRunner = Callable[[str, str, Any], Any]
# Runs a SageMaker processing job: CreateProcessingJob request -> DescribeProcessingJob reply.
ProcessingRunner = Callable[[dict[str, Any]], dict[str, Any]]

_lock = threading.Lock()
_originals: dict[str, Any] = {}
_state: dict[str, Any] = {
    "time_scale": 1.0,
    "lambda": None,
    "processing": None,
    "enforcement": None,
    "state_machine_credentials": None,
}


class LambdaFunctionError(Exception):
    """What a handler raised, carried to Step Functions by its class name (the Retry/Catch key)."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


def time_scale() -> float:
    return float(_state["time_scale"])


# --- Patch 1: Lambda without Docker only echoes -------------------------------------------
# moto's LambdaSimpleBackend.invoke returns the request body. Run the real handler in-process
# instead, and report an exception the way Lambda does (x-amz-function-error: Unhandled and
# {"errorType", "errorMessage"}) so Retry/Catch on exception class names behave as on AWS.
def _invoke(
    self: LambdaSimpleBackend,
    function_name: str,
    qualifier: str | None,
    body: Any,
    headers: Any,
    response_headers: Any,
) -> bytes:
    del headers
    runner: LambdaRunner | None = _state["lambda"]
    function = self.get_function(function_name, qualifier)
    if runner is None:
        raise RuntimeError("local mode installed no Lambda runner")
    event = json.loads(body) if body else {}
    try:
        result = runner(function.function_name, str(function.handler), event)
    except Exception as error:
        response_headers["x-amz-function-error"] = "Unhandled"
        error_type = (
            error.error_type if isinstance(error, LambdaFunctionError) else (type(error).__name__)
        )
        return json.dumps({"errorType": error_type, "errorMessage": str(error)}).encode()
    return json.dumps(result, default=str).encode()


# --- Patch 2: EventBridge rules cannot target Lambda --------------------------------------
# moto's Rule.send_to_targets raises NotImplementedError for Lambda targets. Deliver the event
# to a Lambda target through the (patched) Lambda backend, as EventBridge would; other targets
# (SQS, logs, buses) still go through moto.
def _send_to_targets(self: Rule, original_event: Any, transform_input: bool = True) -> None:
    if not self.event_pattern.matches_event(original_event):
        return
    lambda_targets = [t for t in self.targets if ":lambda:" in t["Arn"]]
    other_targets = [t for t in self.targets if ":lambda:" not in t["Arn"]]
    if other_targets:
        # A shallow copy that only sees the targets moto supports.
        supported = object.__new__(type(self))
        supported.__dict__.update(self.__dict__)
        supported.targets = other_targets
        _originals["send_to_targets"](supported, original_event, transform_input)
    for target in lambda_targets:
        arn = target["Arn"]
        account, region = arn.split(":")[4], arn.split(":")[3]
        backend = lambda_simple_backends[account][region]
        headers: dict[str, str] = {}
        backend.invoke(arn, None, json.dumps(original_event, default=str), {}, headers)


# --- Patch 3: retry intervals and Wait states are real time --------------------------------
# moto sleeps the full Retry interval and Wait duration. Scale both (shown in the output) so a
# local run is fast; the ASL itself is unchanged.
class _ScaledTime:
    """Stands in for the `time` module inside moto's retrier: only sleep is scaled."""

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)

    @staticmethod
    def sleep(seconds: float) -> None:
        time.sleep(max(0.0, float(seconds)) * time_scale())


def _wait_interval(self: WaitFunction, env: Any, wait_seconds: int) -> None:
    del self
    # moto's version re-enters its wait on an int-rounded remainder; a scaled float wait would
    # loop, so wait once for the scaled time (or until the execution stops).
    if wait_seconds > 0:
        env.program_state_event.wait(wait_seconds * time_scale())


# --- Patch 4: sagemaker:createProcessingJob.sync is "Unsupported" --------------------------
# moto routes sagemaker to StateTaskServiceUnsupported (and its .sync machinery polls every
# 0.5 s and dereferences a callback endpoint that only .waitForTaskToken tasks have). Serve the
# task by running the job in-process and returning a DescribeProcessingJob-shaped result; a
# failed job fails the task with States.TaskFailed and the description as cause, as on AWS.
_CREATE_PROCESSING_JOB_PARAMETERS = (
    "ProcessingJobName",
    "RoleArn",
    "AppSpecification",
    "ProcessingResources",
    "NetworkConfig",
    "StoppingCondition",
    "ProcessingInputs",
    "ProcessingOutputConfig",
    "Tags",
    "Environment",
    "ExperimentConfig",
)


class StateTaskServiceSageMakerLocal(StateTaskServiceCallback):
    def __init__(self) -> None:
        patterns: Any = {ResourceCondition.Sync}
        super().__init__(supported_integration_patterns=patterns)

    def _get_supported_parameters(self) -> set[str] | None:
        if self.resource.api_action.lower() != "createprocessingjob":
            return None
        return set(_CREATE_PROCESSING_JOB_PARAMETERS)

    def _eval_service_task(
        self,
        env: Any,
        resource_runtime_part: Any,
        normalised_parameters: dict[str, Any],
        state_credentials: Any,
    ) -> None:
        del resource_runtime_part, state_credentials
        runner: ProcessingRunner | None = _state["processing"]
        if runner is None or self._get_boto_service_action() != "create_processing_job":
            raise RuntimeError(f"no local stand-in for {self.resource.resource_arn}")
        try:
            description = runner(normalised_parameters)
        except CreationRefused as refused:
            raise FailureEventException(
                self._task_failure(env, refused.error, str(refused))
            ) from refused
        if description.get("ProcessingJobStatus") != "Completed":
            raise FailureEventException(
                FailureEvent(
                    env=env,
                    error_name=StatesErrorName(typ=StatesErrorNameType.StatesTaskFailed),
                    event_type=HistoryEventType.TaskFailed,
                    event_details=EventDetails(  # type: ignore[typeddict-item]
                        taskFailedEventDetails=TaskFailedEventDetails(
                            resource=self._get_sfn_resource(),
                            resourceType=self._get_sfn_resource_type(),
                            error=StatesErrorNameType.StatesTaskFailed.to_name(),
                            cause=to_json_str(description),
                        )
                    ),
                )
            )
        env.stack.append(description)

    def _task_failure(self, env: Any, error: str, cause: str) -> FailureEvent:
        return FailureEvent(
            env=env,
            error_name=CustomErrorName(error),
            event_type=HistoryEventType.TaskFailed,
            event_details=EventDetails(  # type: ignore[typeddict-item]
                taskFailedEventDetails=TaskFailedEventDetails(
                    resource=self._get_sfn_resource(),
                    resourceType=self._get_sfn_resource_type(),
                    error=error,
                    cause=cause,
                )
            ),
        )

    def _eval_integration_pattern(
        self,
        env: Any,
        resource_runtime_part: Any,
        normalised_parameters: dict[str, Any],
        state_credentials: Any,
    ) -> None:
        # The job already ran to its end in _eval_service_task: its description is the output.
        del env, resource_runtime_part, normalised_parameters, state_credentials


def _state_task_service_for(service_name: str) -> Any:
    if service_name == "sagemaker":
        return StateTaskServiceSageMakerLocal()
    return _originals["state_task_service_for"](service_name)


# --- Patch 5: moto's IAM check cannot judge the synthesized policies ------------------------
# With authorization on, moto denies every statement that has a Condition and ignores the
# Resource of all but S3 requests. Local mode authorizes every request itself
# (iam.enforcement), from the policies the synthesized template gives each role.
def _authorize(self: Any, iam_request_cls: type, resource: str = "*") -> None:
    enforcement: Enforcement | None = _state["enforcement"]
    if enforcement is None:
        _originals["authorize"](self, iam_request_cls, resource)
        return
    enforcement.authorize(self, resource)


# --- Patch 6: Step Functions signs its service calls with a fixed fake key -----------------
# moto's interpreter calls Lambda, SQS, ... with access key "ak". On AWS it uses the state
# machine's role: sign with that role's credentials, so its policy is what decides.
def _boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
    del state_credentials
    credentials: ReadOnlyCredentials | None = _state["state_machine_credentials"]
    if credentials is None:
        return _originals["boto_client_for"](region, service)
    return identity.pin(
        boto3.client(
            service_name=service,
            region_name=region,
            config=Config(
                parameter_validation=False,
                retries={"max_attempts": 0, "total_max_attempts": 1},
                connect_timeout=99999,
                read_timeout=99999,
            ),
        ),
        credentials,
    )


# --- Patch 7: moto's Transcribe never transcribes -----------------------------------------
# moto advances a job one status per GetTranscriptionJob and writes nothing. Local mode's
# Transcribe (standins.speech.LocalTranscribe) checks the request, does the job in the
# background and sets its status; moto only stores it. GetTranscriptionJob also returns
# FailureReason, which moto leaves out.
_TRANSCRIPTION_JOB_MODEL = "transcribe::transcriptionjob"


def _start_transcription_job(self: TranscribeResponse) -> Any:
    service: LocalTranscribe = _state["transcribe"]
    request = json.loads(self.body or "{}")
    service.check_start(request)
    result = _originals["start_transcription_job"](self)
    service.started(self.transcribe_backend.transcriptions[request["TranscriptionJobName"]])
    return result


def _create_vocabulary(self: TranscribeResponse) -> Any:
    _state["transcribe"].check_vocabulary(json.loads(self.body or "{}"))
    return _originals["create_vocabulary"](self)


def _get_transcription_job(self: TranscribeBackend, transcription_job_name: str) -> Any:
    answer = _originals["get_transcription_job"](self, transcription_job_name)
    reason = self.transcriptions[transcription_job_name].failure_reason
    if reason:
        answer["TranscriptionJob"]["FailureReason"] = reason
    return answer


# --- Patch 8: moto's Bedrock Runtime has no Converse ----------------------------------------
# Served by local mode's Bedrock (standins.model.LocalBedrock), behind the same API the real
# BedrockModelClient calls.
def _converse(self: BedrockRuntimeResponse) -> ActionResult:
    params = {
        name: self._get_param(name)
        for name in (
            "modelId",
            "messages",
            "system",
            "inferenceConfig",
            "toolConfig",
            "guardrailConfig",
            "additionalModelRequestFields",
            "promptVariables",
            "requestMetadata",
            "performanceConfig",
        )
    }
    return ActionResult(
        _state["bedrock"].converse({k: v for k, v in params.items() if v is not None})
    )


# --- Patch 9: moto drops the cause of SendTaskFailure --------------------------------------
# Its response reads `error` only, so a callback's reason (AccessDenied on which action, why a
# job failed) never reached the execution's history or the item's record.
def _send_task_failure(self: StepFunctionResponse) -> Any:
    # With execution on, the backend is the interpreter's, whose signature takes the cause.
    self.stepfunction_backend.send_task_failure(  # type: ignore[call-arg]
        self._get_param("taskToken"), error=self._get_param("error"), cause=self._get_param("cause")
    )
    return EmptyResult()


# --- Patch 10: moto lets States.ALL catch what AWS does not let it catch -------------------
# On AWS, States.DataLimitExceeded (a state or result over 256 KB) and States.Runtime are
# terminal: "States.ALL" does not match them, so the execution fails outside the Catch graph.
_UNCATCHABLE_BY_ALL = (
    StatesErrorNameType.StatesStatesDataLimitExceeded,
    StatesErrorNameType.StatesRuntime,
)


def _error_equals(self: ErrorEqualsDecl, env: Any) -> None:
    error_name = env.stack[-1]
    named = {getattr(name, "error_name", None) for name in self.error_names}
    if (
        isinstance(error_name, StatesErrorName)
        and error_name.typ in _UNCATCHABLE_BY_ALL
        and error_name.error_name not in named
    ):
        env.stack.pop()
        env.stack.append(False)
        return
    _originals["error_equals"](self, env)


# --- Patch 11: moto cannot pass a States.* error up out of a Parallel branch or a Map ----
# It re-raises a branch's or an iteration's error as a custom error name, which refuses any
# name starting "States.", so every such error (States.DataLimitExceeded, States.Timeout,
# States.TaskFailed...) surfaced as States.Runtime. Re-raise reserved names as themselves.
def _reraised_error_name(error_name: str | None = None) -> Any:
    if error_name and error_name.startswith("States."):
        with contextlib.suppress(Exception):
            return StatesErrorName.from_name(error_name)
    return CustomErrorName(error_name=error_name)


_RERAISING_MODULES = (
    "moto.stepfunctions.parser.asl.component.state.exec.state_parallel.branches_decl",
    "moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.iteration_worker",
)


def _use_error_names(factory: Any) -> None:
    for module_name in _RERAISING_MODULES:
        vars(importlib.import_module(module_name))["CustomErrorName"] = factory


# --- Patch 12: a task waiting for a callback waits its full TimeoutSeconds -----------------
# Waiting for an external event (Transcribe's job state change) is idle time, like a Wait
# state: scale it, but never below a floor, so real recognition of long media still fits.
CALLBACK_TIMEOUT_FLOOR_S = 120
_callback_timeouts: set[int] = set()


def _evaluate_with_timeout(self: ExecutionState, env: Any) -> None:
    resource = getattr(self, "resource", None)
    if getattr(resource, "condition", None) == ResourceCondition.WaitForTaskToken:
        _callback_timeouts.add(id(self.timeout))
    _originals["evaluate_with_timeout"](self, env)


def _timeout_eval_body(self: Timeout, env: Any) -> None:
    seconds = self._eval_seconds(env=env)
    if id(self) in _callback_timeouts and not self.is_default_value():
        floor = _state.get("callback_floor_s") or CALLBACK_TIMEOUT_FLOOR_S
        seconds = max(floor, math.ceil(seconds * time_scale()))
    env.stack.append(seconds)


# --- Patch 13: the SDK's own retries sleep real time ---------------------------------------
# Not moto's: botocore retries throttling and 5xx answers itself (a few attempts with backoff)
# before a handler sees them, as on Lambda. Its sleeps run on the same time scale as the
# state machine's Retry intervals.


# --- Patch 14: injected EventBridge failures (--inject events-fail) -----------------------
# Not a moto gap: EventBridge answers the pipeline's own events with a failed entry, as it
# does when it cannot take them (InternalFailure), so the pipeline's handling is exercised.
PIPELINE_EVENT_SOURCE = "multimodal-pipeline"


def _put_events(self: EventsBackend, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    faults: Faults | None = _state["faults"]
    if (
        faults is not None
        and faults.events_fail
        and any(e.get("Source") == PIPELINE_EVENT_SOURCE for e in events)
    ):
        return [
            {
                "ErrorCode": "InternalFailure",
                "ErrorMessage": "EventBridge could not take the event (injected)",
            }
            for _ in events
        ]
    result: list[dict[str, Any]] = _originals["put_events"](self, events)
    return result


# --- Patch 15: moto's definition parser shares one scope stack across threads -------------
# Preprocessor._query_language_per_scope is a class attribute: two executions parsing the
# definition at once push and pop the same list, and one crashes with IndexError (its
# execution then never runs). Give each parser its own.
def _preprocessor_init(self: Preprocessor, *args: Any, **kwargs: Any) -> None:
    _originals["preprocessor_init"](self, *args, **kwargs)
    self._query_language_per_scope = []


# --- Patch 16: moto sends no "Step Functions Execution Status Change" events --------------
# AWS puts one on the default bus whenever an execution ends; the stack's rule records the
# items whose execution ended outside the Catch graph. Emit it for FAILED, TIMED_OUT and
# ABORTED endings (RUNNING and SUCCEEDED have no rule here), with the fields AWS sends.
_pending_endings = [0]
_pending_lock = threading.Lock()


def _terminated(self: BaseExecutionWorkerCommunication) -> None:
    with _pending_lock:
        _pending_endings[0] += 1
    try:
        _originals["terminated"](self)
        execution = self.execution
        status = str(execution.exec_status.value) if execution.exec_status else ""
        if status in ("FAILED", "TIMED_OUT", "ABORTED"):
            _emit_status_change(execution, status)
    finally:
        with _pending_lock:
            _pending_endings[0] -= 1


def _emit_status_change(execution: Any, status: str) -> None:
    def millis(value: Any) -> int | None:
        return int(value.timestamp() * 1000) if value is not None else None

    detail = {
        "executionArn": execution.exec_arn,
        "stateMachineArn": execution.state_machine_arn,
        "name": execution.name,
        "status": status,
        "startDate": millis(execution.start_date),
        "stopDate": millis(execution.stop_date),
        "input": execution.execution_input,
        "inputDetails": {"included": True},
        "output": None,
        "outputDetails": None,
        "error": execution.error,
        "cause": execution.cause,
    }
    backend = events_backends[execution.account_id][execution.region_name]
    backend.put_events(
        [
            {
                "Source": "aws.states",
                "DetailType": "Step Functions Execution Status Change",
                "Detail": json.dumps(detail, default=str),
                "Resources": [execution.exec_arn],
            }
        ]
    )


def status_changes_pending() -> int:
    """Endings whose status-change event is still being delivered (the runner waits)."""
    with _pending_lock:
        return _pending_endings[0]


# --- Patch 17: how close each execution comes to the 256 KB state limit ---------------------
# Not a moto gap: moto refuses a state over the limit as AWS does; this records the largest
# state or result it measured, so a run (and the tests) can say how much headroom is left.
_largest_state = [0]


def _is_within_size_quota(value: Any) -> bool:
    size = len((value if isinstance(value, str) else to_json_str(value)).encode("utf-8"))
    with _pending_lock:
        _largest_state[0] = max(_largest_state[0], size)
    return bool(_originals["is_within_size_quota"](value))


def largest_state_bytes(*, reset: bool = False) -> int:
    """The largest state or task result measured since the last reset, in UTF-8 bytes."""
    with _pending_lock:
        largest = _largest_state[0]
        if reset:
            _largest_state[0] = 0
    return largest


def _rebind(name: str, original: Any, replacement: Any) -> None:
    """Replace a function in every moto module that imported it by name."""
    for module_name, module in list(sys.modules.items()):
        if module_name.startswith("moto.") and getattr(module, name, None) is original:
            setattr(module, name, replacement)


def install(
    *,
    lambda_runner: LambdaRunner,
    processing_runner: ProcessingRunner,
    scale: float,
    transcribe: LocalTranscribe | None = None,
    bedrock: LocalBedrock | None = None,
    enforcement: Enforcement | None = None,
    state_machine_credentials: ReadOnlyCredentials | None = None,
    faults: Faults | None = None,
    callback_floor_s: int | None = None,
) -> None:
    """Apply every patch (idempotent) and point them at this run's runners."""
    if moto.__version__ != MOTO_VERSION:
        raise RuntimeError(f"local mode is pinned to moto {MOTO_VERSION}; found {moto.__version__}")
    with _lock:
        _state.update(
            time_scale=scale,
            processing=processing_runner,
            enforcement=enforcement,
            state_machine_credentials=state_machine_credentials,
            transcribe=transcribe,
            bedrock=bedrock,
            faults=faults,
            callback_floor_s=callback_floor_s,
        )
        _state["lambda"] = lambda_runner
        if _originals:
            return
        _originals["authorize"] = ActionAuthenticatorMixin._authenticate_and_authorize_action
        ActionAuthenticatorMixin._authenticate_and_authorize_action = _authorize  # type: ignore[method-assign]
        _load_service_modules()
        _originals["boto_client_for"] = boto_client.boto_client_for
        _rebind("boto_client_for", boto_client.boto_client_for, _boto_client_for)
        _originals["start_transcription_job"] = TranscribeResponse.start_transcription_job
        _originals["create_vocabulary"] = TranscribeResponse.create_vocabulary
        _originals["get_transcription_job"] = TranscribeBackend.get_transcription_job
        TranscribeResponse.start_transcription_job = _start_transcription_job  # type: ignore[method-assign]
        TranscribeResponse.create_vocabulary = _create_vocabulary  # type: ignore[method-assign]
        TranscribeBackend.get_transcription_job = _get_transcription_job  # type: ignore[method-assign]
        # Jobs never advance on their own: LocalTranscribe sets their status.
        state_manager.set_transition(
            _TRANSCRIPTION_JOB_MODEL, {"progression": "manual", "times": 10**9}
        )
        BedrockRuntimeResponse.converse = _converse  # type: ignore[attr-defined]
        _originals["send_task_failure"] = StepFunctionResponse.send_task_failure
        StepFunctionResponse.send_task_failure = _send_task_failure  # type: ignore[method-assign]
        _originals["terminated"] = BaseExecutionWorkerCommunication.terminated
        BaseExecutionWorkerCommunication.terminated = _terminated  # type: ignore[method-assign]
        _originals["put_events"] = EventsBackend.put_events
        EventsBackend.put_events = _put_events  # type: ignore[method-assign]
        _originals["preprocessor_init"] = Preprocessor.__init__
        Preprocessor.__init__ = _preprocessor_init  # type: ignore[method-assign,assignment]
        _originals["sdk_retry_time"] = botocore_endpoint.time
        botocore_endpoint.time = _ScaledTime()
        _originals["error_equals"] = ErrorEqualsDecl._eval_body
        ErrorEqualsDecl._eval_body = _error_equals  # type: ignore[method-assign]
        _use_error_names(_reraised_error_name)
        _originals["is_within_size_quota"] = quotas.is_within_size_quota
        _rebind("is_within_size_quota", quotas.is_within_size_quota, _is_within_size_quota)
        _originals["evaluate_with_timeout"] = ExecutionState._evaluate_with_timeout
        ExecutionState._evaluate_with_timeout = _evaluate_with_timeout  # type: ignore[method-assign]
        _originals["timeout_eval_body"] = Timeout._eval_body
        Timeout._eval_body = _timeout_eval_body  # type: ignore[method-assign]
        _originals["invoke"] = LambdaSimpleBackend.invoke
        _originals["send_to_targets"] = Rule.send_to_targets
        _originals["retrier_time"] = retrier_decl.time
        _originals["wait_interval"] = WaitFunction._wait_interval
        _originals["state_task_service_for"] = state_task_service_factory.state_task_service_for
        LambdaSimpleBackend.invoke = _invoke  # type: ignore[method-assign]
        Rule.send_to_targets = _send_to_targets  # type: ignore[method-assign]
        retrier_decl.time = _ScaledTime()
        WaitFunction._wait_interval = _wait_interval  # type: ignore[method-assign]
        # Re-bind in every module that imported the factory function by name.
        state_task_service_factory.state_task_service_for = _state_task_service_for
        state_task_factory.state_task_service_for = _state_task_service_for


def uninstall() -> None:
    with _lock:
        if not _originals:
            return
        LambdaSimpleBackend.invoke = _originals.pop("invoke")  # type: ignore[method-assign]
        Rule.send_to_targets = _originals.pop("send_to_targets")  # type: ignore[method-assign]
        retrier_decl.time = _originals.pop("retrier_time")
        WaitFunction._wait_interval = _originals.pop("wait_interval")  # type: ignore[method-assign]
        original = _originals.pop("state_task_service_for")
        state_task_service_factory.state_task_service_for = original
        state_task_factory.state_task_service_for = original
        ActionAuthenticatorMixin._authenticate_and_authorize_action = _originals.pop(  # type: ignore[method-assign]
            "authorize"
        )
        _rebind("boto_client_for", _boto_client_for, _originals.pop("boto_client_for"))
        TranscribeResponse.start_transcription_job = _originals.pop("start_transcription_job")  # type: ignore[method-assign]
        TranscribeResponse.create_vocabulary = _originals.pop("create_vocabulary")  # type: ignore[method-assign]
        TranscribeBackend.get_transcription_job = _originals.pop("get_transcription_job")  # type: ignore[method-assign]
        state_manager.unset_transition(_TRANSCRIPTION_JOB_MODEL)
        del BedrockRuntimeResponse.converse  # type: ignore[attr-defined]
        StepFunctionResponse.send_task_failure = _originals.pop("send_task_failure")  # type: ignore[method-assign]
        ErrorEqualsDecl._eval_body = _originals.pop("error_equals")  # type: ignore[method-assign]
        botocore_endpoint.time = _originals.pop("sdk_retry_time")
        Preprocessor.__init__ = _originals.pop("preprocessor_init")  # type: ignore[method-assign]
        EventsBackend.put_events = _originals.pop("put_events")  # type: ignore[method-assign]
        BaseExecutionWorkerCommunication.terminated = _originals.pop(  # type: ignore[method-assign]
            "terminated"
        )
        ExecutionState._evaluate_with_timeout = _originals.pop("evaluate_with_timeout")  # type: ignore[method-assign]
        _use_error_names(CustomErrorName)
        _rebind(
            "is_within_size_quota", _is_within_size_quota, _originals.pop("is_within_size_quota")
        )
        Timeout._eval_body = _originals.pop("timeout_eval_body")  # type: ignore[method-assign]
        _state.update(
            callback_floor_s=None,
            time_scale=1.0,
            processing=None,
            enforcement=None,
            state_machine_credentials=None,
            transcribe=None,
            bedrock=None,
            faults=None,
        )
        _state["lambda"] = None


_SERVICE_MODULES = "moto.stepfunctions.parser.asl.component.state.exec.state_task.service."


def _load_service_modules() -> None:
    """Import the interpreter's service integrations now, so _rebind reaches them all."""
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
    return bool(_originals)
