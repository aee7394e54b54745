"""Lambda hosting: the real handlers run in-process, each under its function's role and
environment, with their logs sent to a file, as the Lambda runtime would host them.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import threading
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmpipe.local.faults import Faults, InjectedFault
from mmpipe.local.iam.identity import acting_as
from mmpipe.local.moto_patches.shared import asynchronous_invocation
from mmpipe.local.quotas import EmulatedQuotas
from mmpipe.local.resources import Deployment
from mmpipe.local.template import ACCOUNT_ID, REGION


@dataclass
class _FakeLambdaContext:
    function_name: str
    memory_limit_in_mb: int = 1024
    function_version: str = "$LATEST"
    timeout_s: int = 60
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/local"
    log_stream_name: str = "local"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return self.timeout_s * 1000


class LambdaHost:
    """Runs the real handlers in-process (moto_patches.LambdaRunner), each signing its AWS
    calls with its own role's credentials, as the Lambda runtime provides them."""

    def __init__(
        self,
        functions: dict[str, Any],
        credentials: dict[str, Any],
        faults: Faults,
        quotas: EmulatedQuotas | None = None,
    ) -> None:
        self._functions = functions
        self._credentials = credentials
        self._faults = faults
        # The account's concurrent executions: past them an invocation is refused
        # (TooManyRequestsException), or waits when it is asynchronous.
        self._quotas = quotas
        self._handlers: dict[str, Callable[..., Any]] = {}
        self._lock = threading.Lock()
        self.invocations = 0

    def handler_for(self, path: str) -> Callable[..., Any]:
        with self._lock:
            if path not in self._handlers:
                module_name, _, attribute = path.rpartition(".")
                self._handlers[path] = getattr(importlib.import_module(module_name), attribute)
            return self._handlers[path]

    def __call__(self, function_name: str, handler_path: str, event: Any) -> Any:
        if self._quotas is None:
            return self._invoke(function_name, handler_path, event)
        self._quotas.lambda_invocation_started(wait=asynchronous_invocation.get())
        try:
            return self._invoke(function_name, handler_path, event)
        finally:
            self._quotas.lambda_invocation_ended()

    def _invoke(self, function_name: str, handler_path: str, event: Any) -> Any:
        with self._lock:
            self.invocations += 1
        module = handler_path.rpartition(".")[0].rpartition(".")[2]
        if self._faults.raises_in(module, event):
            raise InjectedFault(f"{module} raised on request (--inject lambda-raise={module})")
        function = self._functions.get(function_name)
        context = _FakeLambdaContext(
            function_name, timeout_s=function.timeout_s if function else 60
        )
        with acting_as(self._credentials[function_name]):
            result = self.handler_for(handler_path)(event, context)
        discard_metrics()
        if module in self._faults.lambda_raise_after:
            raise InjectedFault(
                f"{module} raised after its work (--inject lambda-raise-after={module})"
            )
        return result


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def local_environment(deployment: Deployment) -> dict[str, str]:
    return {
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_SESSION_TOKEN": "local",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_LAMBDA_FUNCTION_NAME": "local",
        "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon locally
        "POWERTOOLS_METRICS_DISABLED": "true",  # EMF lines would flood the console
        # Handlers share this process: each reads the SSM thresholds itself, with its role.
        "THRESHOLDS_MAX_AGE_S": "0",
        **deployment.environment,
    }


@contextlib.contextmanager
def quiet_handlers(log_file: Path) -> Iterator[None]:
    """Send the handlers' Powertools JSON logs to a file instead of the console."""
    from pipeline.observability import logger  # noqa: PLC0415 - after the environment is set

    handler = logger.registered_handler
    with log_file.open("a", encoding="utf-8") as stream, warnings.catch_warnings():
        # A handler that recorded no metric warns on flush; with metrics off, that is noise.
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        previous = handler.setStream(stream) if isinstance(handler, logging.StreamHandler) else None
        try:
            yield
        finally:
            if isinstance(handler, logging.StreamHandler) and previous is not None:
                handler.setStream(previous)


def warm_up(host: LambdaHost, deployment: Deployment) -> None:
    """Import every handler, read the SSM thresholds and build the adapters the providers
    seam caches, once, in this thread, as warm Lambdas would have them: otherwise the first
    concurrent executions race on import locks and on those caches, and each builds its own
    boto3 session or resource (the idempotency layer's sessions alone were a tenth of a run's
    CPU: sixteen of them, each loading botocore's data again)."""
    for function in deployment.functions.values():
        host.handler_for(function.handler)
    from pipeline.adapters.providers import get_providers  # noqa: PLC0415
    from pipeline.adapters.thresholds import SsmThresholds  # noqa: PLC0415
    from pipeline.environment import (  # noqa: PLC0415
        FinalGateEnvironment,
        ResultWriterEnvironment,
        StartTranscriptionEnvironment,
    )

    env = FinalGateEnvironment.load()
    SsmThresholds(env.thresholds_parameter_path, env.thresholds_max_age_s).current()
    providers = get_providers()
    providers.idempotency(ResultWriterEnvironment.load().idempotency_table)
    tables = StartTranscriptionEnvironment.load()
    providers.task_tokens(tables.task_tokens_table)
    providers.capacity(tables.capacity_table)


def discard_metrics() -> None:
    """Metrics are off locally (POWERTOOLS_METRICS_DISABLED), but Powertools still collects
    them and, disabled, never clears them: at 100 values of one metric it prints the set as an
    EMF line whatever the switch says. Drop them after each invocation (the handlers of one
    process share one Metrics) so no EMF line reaches the console."""
    from pipeline.observability import metrics  # noqa: PLC0415

    metrics.clear_metrics()
