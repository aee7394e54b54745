"""What every quality gate shares: the current thresholds, and the gate-outcome metrics.

Thresholds live in SSM under THRESHOLDS_PARAMETER_PATH, one parameter per `Thresholds` field
(`<path>/vision_min_fields`, ...), so operators can tune gates without a redeploy. They are
cached for five minutes per warm Lambda.
"""

from __future__ import annotations

from collections.abc import Iterable

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parameters import get_parameters
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from botocore.exceptions import ClientError
from pydantic import ValidationError

from pipeline.adapters.aws_errors import translated_aws_errors
from pipeline.config import Thresholds
from pipeline.errors import ServiceUnavailable, ThresholdsInvalid
from pipeline.models.branches import GateResult
from pipeline.observability import logger, metrics
from pipeline.settings import Settings


def current_thresholds(settings: Settings) -> Thresholds:
    """The thresholds the gates apply now.

    When THRESHOLDS_PARAMETER_PATH is set (every deployed gate), SSM is the only source:
    a missing or invalid parameter is an error an operator must see, never a silent default.
    Only when the path is not set (unit tests, tools run outside a deployment) do the
    configuration's own thresholds apply.
    """
    path = settings.thresholds_parameter_path
    if not path:
        return settings.pipeline_config.thresholds
    values = _fetch(path.rstrip("/"), settings.thresholds_max_age_s)
    wanted = Thresholds.model_fields.keys()
    missing = sorted(name for name in wanted if name not in values)
    if missing:
        raise ThresholdsInvalid(f"SSM parameters missing under {path}: {', '.join(missing)}")
    try:
        return Thresholds.model_validate({name: values[name] for name in wanted})
    except ValidationError as error:
        raise ThresholdsInvalid(f"SSM thresholds under {path} are invalid: {error}") from error


def _fetch(path: str, max_age_s: int) -> dict[str, str]:
    try:
        values = get_parameters(path, max_age=max_age_s)
    except GetParameterError as error:
        # Powertools wraps every failure; unwrap throttling and 5xx so the state machine retries.
        cause = error.__cause__ or error.__context__
        if isinstance(cause, ClientError):
            with translated_aws_errors("SSM"):
                raise cause from None
        raise ServiceUnavailable(f"SSM thresholds could not be read: {error}") from error
    # Keys come back relative to the path; nested paths keep their '/' (ignored here).
    return {str(name).lstrip("/"): str(value) for name, value in values.items()}


def record_gate_outcomes(gates: Iterable[GateResult]) -> None:
    """GatePassed / GateFailed counts (no dimensions beyond the service), plus one log line each."""
    for gate in gates:
        metrics.add_metric(
            name="GatePassed" if gate.passed else "GateFailed", unit=MetricUnit.Count, value=1
        )
        logger.info(
            "Gate evaluated",
            extra={
                "gate": gate.name,
                "passed": gate.passed,
                "score": gate.score,
                "threshold": gate.threshold,
                "reason": gate.reason,
            },
        )
