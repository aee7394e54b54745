"""Lambda: "Check transcript quality". Normalise the Transcribe output, then check
confidence, coverage and language."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pipeline.adapters.providers import get_providers
from pipeline.domain.transcripts import check_transcript
from pipeline.environment import TranscriptGateEnvironment
from pipeline.observability import logger, metrics, tracer
from pipeline_contracts.states.check_transcript_quality import CheckTranscriptQualityInput


@logger.inject_lambda_context(correlation_id_path="item_id")
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    given, env = (
        CheckTranscriptQualityInput.model_validate(event),
        TranscriptGateEnvironment.current(),
    )
    providers = get_providers()
    thresholds = providers.thresholds(env.thresholds_parameter_path, env.thresholds_max_age_s)
    output = check_transcript(
        given, providers.store, env.processed_bucket, providers.name, thresholds.current()
    )
    return output.model_dump(mode="json")
