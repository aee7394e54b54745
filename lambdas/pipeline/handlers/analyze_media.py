"""Lambda: "Analyze with Bedrock" (vision Map iteration). Returns `$.analysis`."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pipeline.adapters.providers import get_providers
from pipeline.domain.vision_analysis import analyze_media
from pipeline.environment import AnalyzeMediaEnvironment
from pipeline.observability import counting_capacity_waits, logger, metrics, tracer
from pipeline_contracts.states.analyze_with_bedrock import AnalyzeWithBedrockInput


@logger.inject_lambda_context(correlation_id_path="item_id")
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    given, env = AnalyzeWithBedrockInput.model_validate(event), AnalyzeMediaEnvironment.current()
    providers = get_providers()
    model = providers.admitted_model(env.capacity_table, env.pipeline_config.quotas)
    with counting_capacity_waits("Bedrock"):
        analysis = analyze_media(
            given, providers.store, model, env.pipeline_config, env.processed_bucket
        )
    return analysis.model_dump(mode="json")
