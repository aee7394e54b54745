"""Lambda: "Check vision output" (vision Map iteration). Returns {asset_id, result_uri, gates}."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pipeline.adapters.providers import get_providers
from pipeline.domain.thresholds import current_thresholds
from pipeline.domain.vision_gate import VisionGateRequest, check_vision_output
from pipeline.observability import logger, metrics, tracer
from pipeline.settings import get_settings


@logger.inject_lambda_context(correlation_id_path="item_id")
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings, providers = get_settings(), get_providers()
    output = check_vision_output(
        VisionGateRequest.model_validate(event),
        providers.store,
        providers.model,
        settings.pipeline_config,
        current_thresholds(settings),
        settings.require("processed_bucket"),
    )
    return output.model_dump(mode="json")
