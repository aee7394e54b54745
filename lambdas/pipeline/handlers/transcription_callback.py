"""Lambda on Transcribe's "Transcribe Job State Change": resume (or fail) the execution
waiting for the job."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pipeline.adapters.providers import get_providers
from pipeline.domain.transcription import settle_job
from pipeline.environment import TranscriptionEventsEnvironment
from pipeline.observability import logger, metrics, tracer
from pipeline_contracts.events import TranscribeJobEvent


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    change = TranscribeJobEvent.model_validate(event).detail
    env, providers = TranscriptionEventsEnvironment.current(), get_providers()
    handled = settle_job(
        change.job_name,
        providers.speech,
        providers.task_tokens(env.task_tokens_table),
        providers.capacity(env.capacity_table),
    )
    if handled.outcome is None:
        logger.warning("No execution waits for this job", extra={"job_name": change.job_name})
    else:
        metrics.add_metric(name=f"Transcriptions{handled.outcome.title()}", unit="Count", value=1)
    return handled.model_dump(mode="json")
