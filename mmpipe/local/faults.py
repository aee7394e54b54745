"""`--inject`: faults local mode can inject, so reliability is tested the same way as the rest.

SPEC is a comma-separated list, e.g. `bedrock-throttle=0.3,transcribe-fail,quota=transcribe:2`:

    bedrock-throttle=F      throttle a fraction F of model calls (retried by the SDK, then by the
                            state machine)
    bedrock-throttle-burst=N
                            throttle the first N model calls: a burst that outlasts the SDK's
                            own retries, so the state machine's Retry has to absorb it
    transcribe-throttle=F   throttle a fraction F of Transcribe StartTranscriptionJob calls
    transcribe-fail         every Transcribe job ends FAILED
    transcribe-event-lost   Transcribe jobs end, but their state-change events never arrive
                            (the wait times out; the pipeline checks the job once)
    sagemaker-fail          every alignment (SageMaker Processing) job ends Failed
    model-malformed         the model's answer is not the JSON asked for (text that is not
                            JSON, or an answer-tool input that breaks the schema)
    events-fail             EventBridge refuses the pipeline's own events (ItemProcessed)
    lambda-raise=NAME       the handler module NAME (e.g. fusion) raises InjectedFault
    lambda-raise=NAME@ID    ...only in the Map iteration of asset ID (one bad asset of many)
    lambda-raise-after=NAME the handler NAME does its work, then raises (a timeout right after
                            its writes, say)
    deny=ACTION[,ACTION...] deny IAM actions to every role of the stack, as an organization's
                            service control policy would (wildcards as in IAM: s3:Put*)
    quota=SERVICE:N         lower an emulated account quota for this run (mmpipe/local/
                            quotas.py), below the synthesized configuration's: bedrock:N
                            requests and bedrock-tokens:N tokens a minute for every model,
                            transcribe:N concurrent jobs, sagemaker:N processing instances,
                            lambda:N concurrent executions, sfn:N StartExecution burst and
                            refill a second. Admission control still plans with the
                            configuration's quotas, so the services answer past the lowered
                            ones as they would to an account with less than it was told
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

from mmpipe.local.iam.policies import is_action_name
from pipeline.config import ModelQuota, Quotas


class InjectedFault(Exception):
    """Raised by a handler on request (`lambda-raise`); not in any Retry list, so it is caught."""


class FaultSpecError(ValueError):
    """The --inject value is not understood."""


_FRACTIONS = {"bedrock-throttle", "transcribe-throttle"}
_FLAGS = {
    "transcribe-fail",
    "transcribe-event-lost",
    "sagemaker-fail",
    "model-malformed",
    "events-fail",
}
_COUNTS = {"bedrock-throttle-burst"}
# quota=SERVICE:N, the services whose emulated quota a run can lower.
QUOTA_SERVICES = ("bedrock", "bedrock-tokens", "transcribe", "sagemaker", "lambda", "sfn")


@dataclass
class Faults:
    bedrock_throttle: float = 0.0
    bedrock_throttle_burst: int = 0
    transcribe_throttle: float = 0.0
    transcribe_fail: bool = False
    transcribe_event_lost: bool = False
    sagemaker_fail: bool = False
    model_malformed: bool = False
    events_fail: bool = False
    lambda_raise: frozenset[str] = frozenset()
    lambda_raise_after: frozenset[str] = frozenset()
    deny: frozenset[str] = frozenset()
    # quota=SERVICE:N: emulated quotas lowered for this run (see `lowered_quotas`).
    quotas: dict[str, int] = field(default_factory=dict)
    seed: int = 7
    _random: random.Random = field(init=False, repr=False)
    _lock: threading.Lock = field(init=False, repr=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def hit(self, fraction: float) -> bool:
        """A deterministic (seeded) draw: True for about `fraction` of the calls."""
        if fraction <= 0:
            return False
        with self._lock:
            return self._random.random() < fraction

    def raises_in(self, module: str, event: object) -> bool:
        """`lambda-raise=NAME` fails every call of NAME; `NAME@ID` only asset ID's iteration."""
        if module in self.lambda_raise:
            return True
        asset_id = event.get("asset_id") if isinstance(event, dict) else None
        return asset_id is not None and f"{module}@{asset_id}" in self.lambda_raise

    def burst(self) -> bool:
        """True for the first `bedrock_throttle_burst` calls."""
        with self._lock:
            if self.bedrock_throttle_burst <= 0:
                return False
            self.bedrock_throttle_burst -= 1
            return True

    def describe(self) -> str:
        parts = [
            f"{name}={getattr(self, name.replace('-', '_'))}"
            for name in sorted(_FRACTIONS)
            if getattr(self, name.replace("-", "_"))
        ]
        parts += [
            f"{name}={getattr(self, name.replace('-', '_'))}"
            for name in sorted(_COUNTS)
            if getattr(self, name.replace("-", "_"))
        ]
        parts += [name for name in sorted(_FLAGS) if getattr(self, name.replace("-", "_"))]
        parts += [f"lambda-raise={name}" for name in sorted(self.lambda_raise)]
        parts += [f"lambda-raise-after={name}" for name in sorted(self.lambda_raise_after)]
        if self.deny:
            parts.append("deny=" + ",".join(sorted(self.deny)))
        parts += [f"quota={name}:{value}" for name, value in sorted(self.quotas.items())]
        return ", ".join(parts) or "none"

    def lowered_quotas(self, quotas: Quotas) -> Quotas:
        """The configuration's quotas with this run's `quota=` faults applied (not
        validated: a test may go below the configuration's own minimums)."""
        if not self.quotas:
            return quotas
        changes: dict[str, object] = {}
        requests, tokens = self.quotas.get("bedrock"), self.quotas.get("bedrock-tokens")
        if requests is not None or tokens is not None:

            def lower(model: ModelQuota) -> ModelQuota:
                return model.model_copy(
                    update={
                        **({"requests_per_minute": requests} if requests is not None else {}),
                        **({"tokens_per_minute": tokens} if tokens is not None else {}),
                    }
                )

            changes["bedrock"] = {name: lower(model) for name, model in quotas.bedrock.items()}
            changes["bedrock_default"] = lower(quotas.bedrock_default)
        for service, name in (
            ("transcribe", "transcribe_concurrent_jobs"),
            ("sagemaker", "sagemaker_processing_instances"),
            ("lambda", "lambda_concurrent_executions"),
            ("sfn", "sfn_start_execution_burst"),
            ("sfn", "sfn_start_execution_per_second"),
        ):
            if service in self.quotas:
                changes[name] = self.quotas[service]
        return quotas.model_copy(update=changes)


def parse_faults(spec: str | None) -> Faults:
    faults = Faults()
    if not spec:
        return faults
    raises: set[str] = set()
    raises_after: set[str] = set()
    denied: set[str] = set()
    lowered: dict[str, int] = {}
    denying = False  # after deny=, bare IAM actions continue its list
    for raw in spec.split(","):
        entry = raw.strip()
        if not entry:
            continue
        if denying and "=" not in entry:
            if not is_action_name(entry):
                raise FaultSpecError(f"deny: {entry!r} is not an IAM action (service:Action)")
            denied.add(entry)
            continue
        name, _, value = entry.partition("=")
        denying = name == "deny"
        if name in _FRACTIONS:
            try:
                fraction = float(value) if value else 1.0
            except ValueError as error:
                raise FaultSpecError(f"{name} needs a fraction, got {value!r}") from error
            if not 0 <= fraction <= 1:
                raise FaultSpecError(f"{name}={value}: the fraction must be within 0..1")
            setattr(faults, name.replace("-", "_"), fraction)
        elif name in _COUNTS:
            if not value.isdigit():
                raise FaultSpecError(f"{name} needs a count, e.g. {name}=12")
            setattr(faults, name.replace("-", "_"), int(value))
        elif name in _FLAGS:
            if value:
                raise FaultSpecError(f"{name} takes no value")
            setattr(faults, name.replace("-", "_"), True)
        elif name == "deny":
            if not is_action_name(value):
                raise FaultSpecError(
                    f"deny needs IAM actions, e.g. deny=transcribe:StartTranscriptionJob; "
                    f"got {value!r}"
                )
            denied.add(value)
        elif name == "quota":
            service, _, count = value.partition(":")
            if service not in QUOTA_SERVICES or not count.isdigit() or int(count) < 1:
                raise FaultSpecError(
                    f"quota needs SERVICE:N with N >= 1, SERVICE one of "
                    f"{', '.join(QUOTA_SERVICES)}; got {value!r}"
                )
            lowered[service] = int(count)
        elif name == "lambda-raise-after":
            if not value:
                raise FaultSpecError(
                    "lambda-raise-after needs a handler name, e.g. lambda-raise-after=result_writer"
                )
            raises_after.add(value)
        elif name == "lambda-raise":
            if not value:
                raise FaultSpecError("lambda-raise needs a handler name, e.g. lambda-raise=fusion")
            raises.add(value)
        else:
            known = sorted(
                _FRACTIONS
                | _FLAGS
                | _COUNTS
                | {"lambda-raise", "lambda-raise-after", "deny", "quota"}
            )
            raise FaultSpecError(f"unknown fault {name!r}; known: {', '.join(known)}")
    faults.lambda_raise = frozenset(raises)
    faults.lambda_raise_after = frozenset(raises_after)
    faults.deny = frozenset(denied)
    faults.quotas = lowered
    return faults
