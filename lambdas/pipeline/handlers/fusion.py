"""Lambda: "Fuse modalities". Returns `$.fusion`: {fusion_uri, degraded_branches, status}."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pipeline.adapters.providers import get_providers
from pipeline.domain.fusion import FusionRequest, fuse_item
from pipeline.observability import logger, metrics, tracer
from pipeline.settings import get_settings


@logger.inject_lambda_context(correlation_id_path="plan.item_id")
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings, providers = get_settings(), get_providers()
    outcome = fuse_item(
        FusionRequest.model_validate(event),
        providers.store,
        providers.model,
        settings.pipeline_config,
        settings.require("processed_bucket"),
    )
    return outcome.model_dump(mode="json")
