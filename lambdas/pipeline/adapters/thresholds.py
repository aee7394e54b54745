"""Gate thresholds from SSM Parameter Store.

Thresholds live under THRESHOLDS_PARAMETER_PATH, one parameter per `Thresholds` field
(`<path>/vision_min_fields`, ...), so operators can tune gates without a redeploy. Powertools
caches them per warm function for THRESHOLDS_MAX_AGE_S (five minutes by default).
"""

from __future__ import annotations

from aws_lambda_powertools.utilities.parameters import get_parameters
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from botocore.exceptions import ClientError
from pydantic import ValidationError

from pipeline.adapters.aws_errors import translated_aws_errors
from pipeline.config import Thresholds
from pipeline.errors import ServiceUnavailable, ThresholdsInvalid


class SsmThresholds:
    """The thresholds the gates apply now. SSM is the only source: a missing or invalid
    parameter is an error an operator must see, never a silent default."""

    def __init__(self, path: str, max_age_s: int) -> None:
        self._path = path.rstrip("/")
        self._max_age_s = max_age_s

    def current(self) -> Thresholds:
        return _thresholds_under(self._path, self._max_age_s)


def _thresholds_under(path: str, max_age_s: int) -> Thresholds:
    values = _fetch(path, max_age_s)
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
