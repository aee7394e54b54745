"""Lambda: "Extract audio track" (audio Map iteration, for containers Transcribe does not
take). Returns `$.media`: where the extracted audio is, and its Transcribe MediaFormat."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pipeline.adapters.providers import get_providers
from pipeline.domain.transcription import ExtractRequest, extract_for_transcribe
from pipeline.observability import logger, metrics, tracer
from pipeline.settings import get_settings


@logger.inject_lambda_context(correlation_id_path="item_id")
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    media = extract_for_transcribe(
        ExtractRequest.model_validate(event),
        get_providers().store,
        get_settings().require("processed_bucket"),
    )
    metrics.add_metric(name="AudioTracksExtracted", unit="Count", value=1)
    return media.model_dump(mode="json")
