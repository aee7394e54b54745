"""Step Functions' executions: definitions parsed safely on many threads, the status-change
events AWS sends when one ends, the largest state each one carried, and StartExecution's
rate limit."""

from __future__ import annotations

import json
import threading
from typing import Any

from moto.events.models import events_backends
from moto.stepfunctions.parser import quotas
from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor
from moto.stepfunctions.parser.asl.utils.encoding import to_json_str
from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication
from moto.stepfunctions.responses import StepFunctionResponse

from mmpipe.local.moto_patches.shared import originals, rebind, state
from mmpipe.local.quotas import EmulatedQuotas


# --- Patch 15: moto's definition parser shares one scope stack across threads -------------
# Preprocessor._query_language_per_scope is a class attribute: two executions parsing the
# definition at once push and pop the same list, and one crashes with IndexError (its
# execution then never runs). Give each parser its own.
def _preprocessor_init(self: Preprocessor, *args: Any, **kwargs: Any) -> None:
    originals["preprocessor_init"](self, *args, **kwargs)
    self._query_language_per_scope = []


# --- Patch 16: moto sends no "Step Functions Execution Status Change" events --------------
# AWS puts one on the default bus whenever an execution ends; the stack's rules record the
# items whose execution ended outside the Catch graph and give back the capacity an item
# still holds. Emit it for every ending (RUNNING has no rule here), with the fields AWS sends.
_pending_endings = [0]
_pending_lock = threading.Lock()


def _terminated(self: BaseExecutionWorkerCommunication) -> None:
    with _pending_lock:
        _pending_endings[0] += 1
    try:
        originals["terminated"](self)
        execution = self.execution
        status = str(execution.exec_status.value) if execution.exec_status else ""
        if status in ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"):
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
    return bool(originals["is_within_size_quota"](value))


def largest_state_bytes(*, reset: bool = False) -> int:
    """The largest state or task result measured since the last reset, in UTF-8 bytes."""
    with _pending_lock:
        largest = _largest_state[0]
        if reset:
            _largest_state[0] = 0
    return largest


# --- Patch 25: StartExecution has no rate limit in moto -----------------------------------
# Step Functions meters StartExecution with a token bucket per account (burst, refill per
# second) and answers ThrottlingException when it is empty. The run's emulated quotas
# (mmpipe/local/quotas.py) keep the bucket, on the run's emulated clock.
def _start_execution(self: StepFunctionResponse) -> Any:
    emulated: EmulatedQuotas | None = state.get("quotas")
    if emulated is not None:
        emulated.execution_start()
    return originals["start_execution"](self)


def patch() -> None:
    originals["start_execution"] = StepFunctionResponse.start_execution
    StepFunctionResponse.start_execution = _start_execution  # type: ignore[method-assign]
    originals["terminated"] = BaseExecutionWorkerCommunication.terminated
    BaseExecutionWorkerCommunication.terminated = _terminated  # type: ignore[method-assign]
    originals["preprocessor_init"] = Preprocessor.__init__
    Preprocessor.__init__ = _preprocessor_init  # type: ignore[method-assign,assignment]
    originals["is_within_size_quota"] = quotas.is_within_size_quota
    rebind("is_within_size_quota", quotas.is_within_size_quota, _is_within_size_quota)


def restore() -> None:
    StepFunctionResponse.start_execution = originals.pop("start_execution")  # type: ignore[method-assign]
    Preprocessor.__init__ = originals.pop("preprocessor_init")  # type: ignore[method-assign]
    BaseExecutionWorkerCommunication.terminated = originals.pop(  # type: ignore[method-assign]
        "terminated"
    )
    rebind("is_within_size_quota", _is_within_size_quota, originals.pop("is_within_size_quota"))
