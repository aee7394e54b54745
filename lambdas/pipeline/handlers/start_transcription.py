"""Lambda: "Transcribe audio" (waitForTaskToken). Start the Transcribe job and park the task
token: the job's EventBridge state change resumes the execution (transcription_callback)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pipeline.adapters.providers import get_providers
from pipeline.domain.transcription import start_transcription
from pipeline.environment import StartTranscriptionEnvironment
from pipeline.observability import counting_capacity_waits, logger, metrics, tracer
from pipeline_contracts.states.transcribe_audio import TranscribeAudioInput


@logger.inject_lambda_context(correlation_id_path="asset.item_id")
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    given, env = TranscribeAudioInput.model_validate(event), StartTranscriptionEnvironment.current()
    providers = get_providers()
    with counting_capacity_waits("Transcribe"):
        started = start_transcription(
            given,
            providers.store,
            providers.speech,
            providers.task_tokens(env.task_tokens_table),
            env.processed_bucket,
            providers.capacity(env.capacity_table),
            env.pipeline_config.quotas.transcribe_concurrent_jobs,
        )
    logger.info("Transcription started", extra={"job_name": started.job_name})
    return started.model_dump(mode="json")
