"""Lambda: "Check final quality". Returns `$.final_gate`: {gate, status}."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pipeline.adapters.providers import get_providers
from pipeline.domain.final_gate import check_final_quality
from pipeline.environment import FinalGateEnvironment
from pipeline.observability import logger, metrics, tracer
from pipeline_contracts.states.check_final_quality import CheckFinalQualityInput


@logger.inject_lambda_context(correlation_id_path="plan.item_id")
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    given, env = CheckFinalQualityInput.model_validate(event), FinalGateEnvironment.current()
    providers = get_providers()
    thresholds = providers.thresholds(env.thresholds_parameter_path, env.thresholds_max_age_s)
    verdict = check_final_quality(given, providers.store, thresholds.current())
    return verdict.model_dump(mode="json")
