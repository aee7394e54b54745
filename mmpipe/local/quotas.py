"""The account's default quotas, emulated: past them the stand-ins answer as the services do.

The quotas are the synthesized app's configuration (`quotas`), the same numbers admission
control takes from, so a local run shows whether admission keeps the pipeline under them; a
run's Wait states and Retry intervals are scaled by its time scale, and so is the clock the
quota windows run on (`EmulatedClock`): an emulated minute of Bedrock quota lasts 0.6 s of
real time at the default x0.01. Handlers get the same clock (`Providers.clock`).

Emulated: Bedrock requests and tokens per minute per model (ThrottlingException), Transcribe
concurrent jobs (LimitExceededException), SageMaker processing instances
(ResourceLimitExceeded), Lambda's account concurrency (TooManyRequestsException, "Rate
Exceeded."; asynchronous invocations wait for a slot, as Lambda queues them) and Step
Functions' StartExecution token bucket (ThrottlingException). At their defaults a local run
(a few dozen executions at once) does not reach the last two; `--inject quota=...` lowers
any of them for a run (mmpipe/local/faults.py).
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from mmpipe.local.api_requests import RequestRejected
from pipeline.config import Quotas


class EmulatedClock:
    """Seconds since the epoch, running 1/time_scale times as fast as real time from now."""

    def __init__(self, time_scale: float) -> None:
        self._scale = time_scale
        self._real_start = time.monotonic()
        self._epoch_start = time.time()

    def __call__(self) -> float:
        return self._epoch_start + (time.monotonic() - self._real_start) / self._scale


class QuotaRefused(RequestRejected):
    """A call past an emulated quota, answered as the service answers it."""


@dataclass
class EmulatedQuotas:
    quotas: Quotas
    clock: Callable[[], float]
    refused: Counter[str] = field(default_factory=Counter)
    _calls: dict[str, deque[tuple[float, int]]] = field(default_factory=dict)
    _transcribe_active: set[str] = field(default_factory=set)
    _transcribe_named: set[str] = field(default_factory=set)
    _processing_instances: int = 0
    _lambda_running: int = 0
    _lambda_freed: threading.Condition = field(default_factory=threading.Condition)
    _start_tokens: float | None = None  # None: a full bucket, at the first StartExecution
    _start_refilled_at: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def bedrock_call(self, model_id: str, tokens: int) -> None:
        """One Converse call of `tokens` (input and max output, as Bedrock counts them at
        admission), or ThrottlingException past the model's requests or tokens per minute."""
        quota = self.quotas.model(model_id)
        now = self.clock()
        with self._lock:
            window = self._calls.setdefault(model_id, deque())
            while window and window[0][0] <= now - 60:
                window.popleft()
            used = sum(count for _, count in window)
            if len(window) + 1 > quota.requests_per_minute or (
                window and used + tokens > quota.tokens_per_minute
            ):
                self.refused["bedrock"] += 1
                raise QuotaRefused(
                    "Too many requests, please wait before trying again.",
                    "ThrottlingException",
                    429,
                )
            window.append((now, tokens))

    def transcribe_job_started(self, job_name: str) -> None:
        """A new job takes one of the concurrent-job slots, or LimitExceededException. A name
        already used takes none: the service refuses it as a conflict after this check."""
        with self._lock:
            if job_name in self._transcribe_named:
                return
            if len(self._transcribe_active) >= self.quotas.transcribe_concurrent_jobs:
                self.refused["transcribe"] += 1
                raise QuotaRefused(
                    "You have exceeded the maximum number of concurrent transcription jobs. "
                    "Wait until some of your jobs have completed, then try your request again.",
                    "LimitExceededException",
                )
            self._transcribe_named.add(job_name)
            self._transcribe_active.add(job_name)

    def transcribe_job_ended(self, job_name: str) -> None:
        with self._lock:
            self._transcribe_active.discard(job_name)

    def processing_instance_started(self, instance_type: str) -> str | None:
        """None when the job may start, else SageMaker's ResourceLimitExceeded message."""
        limit = self.quotas.sagemaker_processing_instances
        with self._lock:
            if self._processing_instances >= limit:
                self.refused["sagemaker"] += 1
                return (
                    f"The account-level service limit '{instance_type} for processing job "
                    f"usage' is {limit} Instances, with current utilization of "
                    f"{self._processing_instances} Instances and a request delta of 1 "
                    "Instances. Please use AWS Service Quotas to request an increase for "
                    "this quota."
                )
            self._processing_instances += 1
            return None

    def processing_instance_ended(self) -> None:
        with self._lock:
            self._processing_instances = max(0, self._processing_instances - 1)

    # --- Lambda: account concurrency ------------------------------------------------------

    def lambda_invocation_started(self, *, wait: bool = False) -> None:
        """One more execution environment busy, or TooManyRequestsException ("Rate
        Exceeded.") past the account's concurrent executions. With `wait` (an asynchronous
        invocation: EventBridge, whose events Lambda queues and retries on throttling), wait
        for a slot instead."""
        limit = self.quotas.lambda_concurrent_executions
        with self._lambda_freed:
            while self._lambda_running >= limit:
                if not wait:
                    with self._lock:
                        self.refused["lambda"] += 1
                    raise QuotaRefused("Rate Exceeded.", "TooManyRequestsException", 429)
                self._lambda_freed.wait()
            self._lambda_running += 1

    def lambda_invocation_ended(self) -> None:
        with self._lambda_freed:
            self._lambda_running = max(0, self._lambda_running - 1)
            self._lambda_freed.notify()

    # --- Step Functions: StartExecution's token bucket --------------------------------------

    def execution_start(self) -> None:
        """One StartExecution, or ThrottlingException ("Rate exceeded") when the bucket
        (sfn_start_execution_burst tokens, refilled at sfn_start_execution_per_second on the
        emulated clock) is empty."""
        burst = float(self.quotas.sfn_start_execution_burst)
        now = self.clock()
        with self._lock:
            if self._start_tokens is None:
                self._start_tokens, self._start_refilled_at = burst, now
            refill = (now - self._start_refilled_at) * self.quotas.sfn_start_execution_per_second
            self._start_tokens = min(burst, self._start_tokens + max(0.0, refill))
            self._start_refilled_at = now
            if self._start_tokens < 1:
                self.refused["stepfunctions"] += 1
                raise QuotaRefused("Rate exceeded", "ThrottlingException", 400)
            self._start_tokens -= 1
