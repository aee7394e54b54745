"""Lambda: "Check final quality". Returns `$.final_gate`: {gate, status}."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pipeline.adapters.providers import get_providers
from pipeline.domain.final_gate import FinalGateRequest, check_final_quality
from pipeline.domain.thresholds import current_thresholds
from pipeline.observability import logger, metrics, tracer
from pipeline.settings import get_settings


@logger.inject_lambda_context(correlation_id_path="plan.item_id")
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = get_settings()
    verdict = check_final_quality(
        FinalGateRequest.model_validate(event),
        get_providers().store,
        current_thresholds(settings),
    )
    return verdict.model_dump(mode="json")
