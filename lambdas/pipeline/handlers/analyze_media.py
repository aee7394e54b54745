"""Lambda: "Analyze with Bedrock" (vision Map iteration). Returns `$.analysis`."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pipeline.adapters.providers import get_providers
from pipeline.domain.vision_analysis import AnalyzeRequest, analyze_media
from pipeline.observability import logger, tracer
from pipeline.settings import get_settings


@logger.inject_lambda_context(correlation_id_path="item_id")
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings, providers = get_settings(), get_providers()
    analysis = analyze_media(
        AnalyzeRequest.model_validate(event),
        providers.store,
        providers.model,
        settings.pipeline_config,
        settings.require("processed_bucket"),
    )
    return analysis.model_dump(mode="json")
