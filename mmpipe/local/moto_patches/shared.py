"""What the patches share: this run's runners and settings, moto's originals (kept to restore
them), the time scale, and the helper that re-binds a function wherever moto imported it.

Each patch module reads the run's settings from here, so `install` can point them all at a
new run without re-applying anything.
"""

from __future__ import annotations

import contextvars
import sys
import threading
from collections.abc import Callable
from typing import Any

# Runs a Lambda: (function name, handler path "module.function", event) -> result.
LambdaRunner = Callable[[str, str, Any], Any]
# Runs a SageMaker processing job: CreateProcessingJob request -> DescribeProcessingJob reply.
ProcessingRunner = Callable[[dict[str, Any]], dict[str, Any]]

lock = threading.Lock()
originals: dict[str, Any] = {}
# True while a Lambda function is invoked asynchronously (an EventBridge target): Lambda
# queues such events, so past the account's concurrency they wait instead of being refused.
asynchronous_invocation: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "mmpipe_asynchronous_invocation", default=False
)
state: dict[str, Any] = {
    "time_scale": 1.0,
    "lambda": None,
    "processing": None,
    "enforcement": None,
    "state_machine_credentials": None,
}


def time_scale() -> float:
    return float(state["time_scale"])


def rebind(name: str, original: Any, replacement: Any) -> None:
    """Replace a function in every moto module that imported it by name."""
    for module_name, module in list(sys.modules.items()):
        if module_name.startswith("moto.") and getattr(module, name, None) is original:
            setattr(module, name, replacement)
