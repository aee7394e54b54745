"""Step Functions' tasks: how the interpreter calls services (SageMaker jobs run by the
stand-in, every call signed with the state machine's role) and hears back (SendTaskFailure)."""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.config import Config
from botocore.credentials import ReadOnlyCredentials
from moto.core.responses import EmptyResult
from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import (
    CustomErrorName,
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
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.utils import boto_client as _boto_client
from moto.stepfunctions.parser.asl.utils.encoding import to_json_str
from moto.stepfunctions.responses import StepFunctionResponse

from mmpipe.local.iam import identity
from mmpipe.local.moto_patches.shared import ProcessingRunner, originals, rebind, state
from mmpipe.local.standins.sagemaker import CreationRefused

# Module objects whose globals we re-bind (typed loosely: moto does not export these names).
state_task_factory: Any = _state_task_factory
boto_client: Any = _boto_client


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
        runner: ProcessingRunner | None = state["processing"]
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
    return originals["state_task_service_for"](service_name)


# --- Patch 6: Step Functions signs its service calls with a fixed fake key -----------------
# moto's interpreter calls Lambda, SQS, ... with access key "ak". On AWS it uses the state
# machine's role: sign with that role's credentials, so its policy is what decides. moto also
# builds a new client for every task it runs (a tenth of a run's CPU): keep one per service,
# region and credentials (botocore clients may be shared by threads).
_clients: dict[tuple[str, str, ReadOnlyCredentials], Any] = {}
_clients_lock = threading.Lock()


def _boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
    del state_credentials
    credentials: ReadOnlyCredentials | None = state["state_machine_credentials"]
    if credentials is None:
        return originals["boto_client_for"](region, service)
    key = (region, service, credentials)
    client = _clients.get(key)
    if client is None:
        client = identity.pin(
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
        with _clients_lock:
            client = _clients.setdefault(key, client)
    return client


# --- Patch 9: moto drops the cause of SendTaskFailure --------------------------------------
# Its response reads `error` only, so a callback's reason (AccessDenied on which action, why a
# job failed) never reached the execution's history or the item's record.
def _send_task_failure(self: StepFunctionResponse) -> Any:
    # With execution on, the backend is the interpreter's, whose signature takes the cause.
    self.stepfunction_backend.send_task_failure(  # type: ignore[call-arg]
        self._get_param("taskToken"), error=self._get_param("error"), cause=self._get_param("cause")
    )
    return EmptyResult()


def patch() -> None:
    originals["boto_client_for"] = boto_client.boto_client_for
    rebind("boto_client_for", boto_client.boto_client_for, _boto_client_for)
    originals["send_task_failure"] = StepFunctionResponse.send_task_failure
    StepFunctionResponse.send_task_failure = _send_task_failure  # type: ignore[method-assign]
    originals["state_task_service_for"] = state_task_service_factory.state_task_service_for
    # Re-bind in every module that imported the factory function by name.
    state_task_service_factory.state_task_service_for = _state_task_service_for
    state_task_factory.state_task_service_for = _state_task_service_for


def restore() -> None:
    original = originals.pop("state_task_service_for")
    state_task_service_factory.state_task_service_for = original
    state_task_factory.state_task_service_for = original
    rebind("boto_client_for", _boto_client_for, originals.pop("boto_client_for"))
    with _clients_lock:
        _clients.clear()
    StepFunctionResponse.send_task_failure = originals.pop("send_task_failure")  # type: ignore[method-assign]
