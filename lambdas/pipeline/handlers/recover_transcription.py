"""Lambda: "Check the job once more". The wait for Transcribe's completion event timed out:
if the job finished and only its event was lost, resume with its result rather than fail an
asset whose transcript is ready (and cost the item its whole transcribe timeout again)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict

from pipeline.adapters.providers import get_providers
from pipeline.adapters.task_tokens import TaskTokens
from pipeline.domain.transcription import job_name_for, recover_after_timeout
from pipeline.observability import logger, metrics, tracer
from pipeline.settings import get_settings


class RecoverRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")  # the iteration's state, whatever else it holds

    item_id: str
    asset_id: str


@logger.inject_lambda_context(correlation_id_path="item_id")
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = RecoverRequest.model_validate(event)
    job_name = job_name_for(request.item_id, request.asset_id)
    # The parked token is stale either way: the task it belonged to has timed out.
    TaskTokens(get_settings().require("task_tokens_table")).forget(job_name)
    output = recover_after_timeout(job_name, get_providers().speech)
    metrics.add_metric(name="TranscriptionEventsLost", unit="Count", value=1)
    logger.warning("Resumed after a lost completion event", extra={"job_name": job_name})
    return output
