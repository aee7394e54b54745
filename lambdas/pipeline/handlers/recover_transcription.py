"""Lambda: "Check the job once more". The wait for Transcribe's completion event timed out:
if the job finished and only its event was lost, resume with its result rather than fail an
asset whose transcript is ready (and cost the item its whole transcribe timeout again)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pipeline.adapters.providers import get_providers
from pipeline.domain.transcription import check_job_once_more
from pipeline.environment import TranscriptionEventsEnvironment
from pipeline.observability import logger, metrics, tracer
from pipeline_contracts.states.check_the_job_once_more import CheckJobOnceMoreInput


@logger.inject_lambda_context(correlation_id_path="item_id")
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    given, env = (
        CheckJobOnceMoreInput.model_validate(event),
        TranscriptionEventsEnvironment.current(),
    )
    providers = get_providers()
    job = check_job_once_more(
        given,
        providers.speech,
        providers.task_tokens(env.task_tokens_table),
        providers.capacity(env.capacity_table),
    )
    metrics.add_metric(name="TranscriptionEventsLost", unit="Count", value=1)
    logger.warning("Resumed after a lost completion event", extra={"job_name": job.job_name})
    return job.model_dump(mode="json")
