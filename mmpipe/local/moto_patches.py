"""Every change local mode makes to moto, in one place. Pinned to moto 5.2.5.

Each patch says which moto behaviour it works around. `install(...)` applies them all once
per process; `uninstall()` restores moto (tests use it to check the patches are reversible).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import moto
from moto.awslambda_simple.models import LambdaSimpleBackend, lambda_simple_backends
from moto.events.models import Rule
from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
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
from moto.stepfunctions.parser.asl.utils.encoding import to_json_str

MOTO_VERSION = "5.2.5"

# Module objects whose globals we re-bind (typed loosely: moto does not export these names).
retrier_decl: Any = _retrier_decl
state_task_factory: Any = _state_task_factory

# Runs a Lambda: (function name, handler path "module.function", event) -> result.
LambdaRunner = Callable[[str, str, Any], Any]
# Runs a SageMaker processing job: CreateProcessingJob request -> DescribeProcessingJob reply.
ProcessingRunner = Callable[[dict[str, Any]], dict[str, Any]]

_lock = threading.Lock()
_originals: dict[str, Any] = {}
_state: dict[str, Any] = {"time_scale": 1.0, "lambda": None, "processing": None}


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
        error_type = error.error_type if isinstance(error, LambdaFunctionError) else (
            type(error).__name__)
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
    "ProcessingJobName", "RoleArn", "AppSpecification", "ProcessingResources",
    "NetworkConfig", "StoppingCondition", "ProcessingInputs", "ProcessingOutputConfig",
    "Tags", "Environment", "ExperimentConfig",
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
        description = runner(normalised_parameters)
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


def install(
    *,
    lambda_runner: LambdaRunner,
    processing_runner: ProcessingRunner,
    scale: float,
) -> None:
    """Apply every patch (idempotent) and point them at this run's runners."""
    if moto.__version__ != MOTO_VERSION:
        raise RuntimeError(
            f"local mode is pinned to moto {MOTO_VERSION}; found {moto.__version__}"
        )
    with _lock:
        _state.update(time_scale=scale, processing=processing_runner)
        _state["lambda"] = lambda_runner
        if _originals:
            return
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
        _state.update(time_scale=1.0, processing=None)
        _state["lambda"] = None


def installed() -> bool:
    return bool(_originals)
