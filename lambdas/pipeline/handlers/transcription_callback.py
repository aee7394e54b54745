"""Transcribe "Job State Change" event -> resume (or fail) the execution waiting for it."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from pipeline.adapters.providers import get_providers
from pipeline.adapters.task_tokens import TaskTokens
from pipeline.domain.transcription import report_job_outcome
from pipeline.observability import logger, metrics, tracer
from pipeline.settings import get_settings


class JobStateChange(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    job_name: str = Field(alias="TranscriptionJobName")
    status: str = Field(alias="TranscriptionJobStatus")


class TranscribeEvent(BaseModel):
    detail: JobStateChange


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    change = TranscribeEvent.model_validate(event).detail
    tokens = TaskTokens(get_settings().require("task_tokens_table"))
    parked = tokens.take(change.job_name)
    if parked is None:
        logger.warning("No execution waits for this job", extra={"job_name": change.job_name})
        return {"resumed": False}
    token, item_id = parked
    logger.append_keys(item_id=item_id)
    outcome = report_job_outcome(change.job_name, token, get_providers().speech, tokens)
    metrics.add_metric(name=f"Transcriptions{outcome.title()}", unit="Count", value=1)
    tokens.forget(change.job_name)
    return {"resumed": True, "outcome": outcome}
