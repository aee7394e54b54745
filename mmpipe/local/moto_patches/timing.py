"""The time scale: Step Functions' Retry intervals, Wait states and callback timeouts, and the
SDK's own retries, run at the run's scale instead of real time."""

from __future__ import annotations

import math
import time
from typing import Any

import botocore.endpoint as botocore_endpoint
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl as _retrier_decl
from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import Timeout
from moto.stepfunctions.parser.asl.component.state.exec.execute_state import ExecutionState
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import (
    ResourceCondition,
)
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import (
    WaitFunction,
)

from mmpipe.local.moto_patches.shared import originals, state, time_scale

# Module objects whose globals we re-bind (typed loosely: moto does not export these names).
retrier_decl: Any = _retrier_decl


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


# --- Patch 12: a task waiting for a callback waits its full TimeoutSeconds -----------------
# Waiting for an external event (Transcribe's job state change) is idle time, like a Wait
# state: scale it, but never below a floor, so real recognition of long media still fits.
CALLBACK_TIMEOUT_FLOOR_S = 120
_callback_timeouts: set[int] = set()


def _evaluate_with_timeout(self: ExecutionState, env: Any) -> None:
    resource = getattr(self, "resource", None)
    if getattr(resource, "condition", None) == ResourceCondition.WaitForTaskToken:
        _callback_timeouts.add(id(self.timeout))
    originals["evaluate_with_timeout"](self, env)


def _timeout_eval_body(self: Timeout, env: Any) -> None:
    seconds = self._eval_seconds(env=env)
    if id(self) in _callback_timeouts and not self.is_default_value():
        floor = state.get("callback_floor_s") or CALLBACK_TIMEOUT_FLOOR_S
        seconds = max(floor, math.ceil(seconds * time_scale()))
    env.stack.append(seconds)


# --- Patch 13: the SDK's own retries sleep real time ---------------------------------------
# Not moto's: botocore retries throttling and 5xx answers itself (a few attempts with backoff)
# before a handler sees them, as on Lambda. Its sleeps run on the same time scale as the
# state machine's Retry intervals.


def patch() -> None:
    originals["sdk_retry_time"] = botocore_endpoint.time
    botocore_endpoint.time = _ScaledTime()
    originals["evaluate_with_timeout"] = ExecutionState._evaluate_with_timeout
    ExecutionState._evaluate_with_timeout = _evaluate_with_timeout  # type: ignore[method-assign]
    originals["timeout_eval_body"] = Timeout._eval_body
    Timeout._eval_body = _timeout_eval_body  # type: ignore[method-assign]
    originals["retrier_time"] = retrier_decl.time
    originals["wait_interval"] = WaitFunction._wait_interval
    retrier_decl.time = _ScaledTime()
    WaitFunction._wait_interval = _wait_interval  # type: ignore[method-assign]


def restore() -> None:
    retrier_decl.time = originals.pop("retrier_time")
    WaitFunction._wait_interval = originals.pop("wait_interval")  # type: ignore[method-assign]
    botocore_endpoint.time = originals.pop("sdk_retry_time")
    ExecutionState._evaluate_with_timeout = originals.pop("evaluate_with_timeout")  # type: ignore[method-assign]
    Timeout._eval_body = originals.pop("timeout_eval_body")  # type: ignore[method-assign]
