"""Lambda: "Check vision output" (vision Map iteration). Returns {asset_id, result_uri, gates}."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pipeline.adapters.providers import get_providers
from pipeline.domain.vision_gate import check_vision_output
from pipeline.environment import VisionGateEnvironment
from pipeline.observability import logger, metrics, tracer
from pipeline_contracts.states.check_vision_output import CheckVisionOutputInput


@logger.inject_lambda_context(correlation_id_path="item_id")
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    given, env = CheckVisionOutputInput.model_validate(event), VisionGateEnvironment.current()
    providers = get_providers()
    thresholds = providers.thresholds(env.thresholds_parameter_path, env.thresholds_max_age_s)
    output = check_vision_output(
        given,
        providers.store,
        providers.model,
        env.pipeline_config,
        thresholds.current(),
        env.processed_bucket,
    )
    return output.model_dump(mode="json")
