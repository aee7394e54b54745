"""Step Functions' errors as AWS reports them: what States.ALL may catch, States.* errors
passed up out of Parallel branches and Map iterations, causes that are strings, and Lambda's
own refusals named Lambda.<exception>."""

from __future__ import annotations

import contextlib
import importlib
import json
from typing import Any

from botocore.exceptions import ClientError
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import (
    CustomErrorName,
)
from moto.stepfunctions.parser.asl.component.common.error_name.error_equals_decl import (
    ErrorEqualsDecl,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (
    StatesErrorName,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
    StatesErrorNameType,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_events,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_lambda import (
    StateTaskLambda,
)

from mmpipe.local.moto_patches.shared import originals

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
    originals["error_equals"](self, env)


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


# --- Patch 18: moto's EventBridge.FailedEntry carries its cause as an object -------------
# A Catch's `$.error.Cause` is always a string on AWS (TaskFailedEventDetails.cause is a
# String): for EventBridge.FailedEntry, the PutEvents response as JSON text. moto passes the
# response dict itself, so a step reading the cause got an object AWS never sends. Found by
# checking recorded states against their contracts (tests/integration/test_recorded_states.py).
class _FailedEntry(state_task_service_events.SfnFailedEntryCountException):
    def __init__(self, cause: dict[str, Any] | None) -> None:
        super().__init__(cause)
        self.cause = json.dumps(cause)  # type: ignore[assignment, misc]


# --- Patch 26: a Lambda service error is "Exception" in moto --------------------------------
# When the Invoke call itself fails (TooManyRequestsException past the account's concurrency,
# a service error), AWS fails a Lambda task with the error "Lambda.<exception name>", which
# is what Retry lists name ("Lambda.TooManyRequestsException"); moto names every such error
# "Exception", so no Retry matched and a throttled invocation failed the item.
def _lambda_task_error(self: StateTaskLambda, env: Any, ex: Exception) -> Any:
    event = originals["lambda_task_error"](self, env, ex)
    if isinstance(ex, ClientError):
        name = f"Lambda.{ex.response.get('Error', {}).get('Code', 'AWSLambdaException')}"
        event.error_name = CustomErrorName(name)
        details = (event.event_details or {}).get("lambdaFunctionFailedEventDetails")
        if details is not None:
            details["error"] = name
    return event


def patch() -> None:
    originals["lambda_task_error"] = StateTaskLambda._from_error
    StateTaskLambda._from_error = _lambda_task_error  # type: ignore[method-assign]
    originals["error_equals"] = ErrorEqualsDecl._eval_body
    ErrorEqualsDecl._eval_body = _error_equals  # type: ignore[method-assign]
    _use_error_names(_reraised_error_name)
    originals["failed_entry"] = state_task_service_events.SfnFailedEntryCountException
    state_task_service_events.SfnFailedEntryCountException = _FailedEntry  # type: ignore[misc]


def restore() -> None:
    StateTaskLambda._from_error = originals.pop("lambda_task_error")  # type: ignore[method-assign]
    ErrorEqualsDecl._eval_body = originals.pop("error_equals")  # type: ignore[method-assign]
    _use_error_names(CustomErrorName)
    state_task_service_events.SfnFailedEntryCountException = originals.pop("failed_entry")  # type: ignore[misc]
