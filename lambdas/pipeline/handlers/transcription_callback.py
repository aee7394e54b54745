"""Transcribe "Job State Change" event -> resume (or fail) the execution waiting for it."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from pipeline.adapters.providers import get_providers
from pipeline.adapters.task_tokens import TaskTokens
from pipeline.domain.transcription import callback_output
from pipeline.errors import TranscriptionFailed
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
    # Ask the service for the final state rather than trusting the event's copy of it.
    state = get_providers().speech.state(change.job_name)
    try:
        tokens.resume(token, callback_output(state))
        metrics.add_metric(name="TranscriptionsCompleted", unit="Count", value=1)
    except TranscriptionFailed as failure:
        tokens.fail(token, "TranscriptionFailed", str(failure))
        metrics.add_metric(name="TranscriptionsFailed", unit="Count", value=1)
    tokens.forget(change.job_name)
    return {"resumed": True, "status": state.status}
