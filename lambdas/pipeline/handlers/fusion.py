"""Lambda: "Fuse modalities". Returns `$.fusion`: {fusion_uri, degraded_branches, status}."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pipeline.adapters.providers import get_providers
from pipeline.domain.admission import release_alignment_instance
from pipeline.domain.fusion import fuse_item
from pipeline.environment import FusionEnvironment
from pipeline.observability import counting_capacity_waits, logger, metrics, tracer
from pipeline_contracts.states.fuse_modalities import FuseModalitiesInput


@logger.inject_lambda_context(correlation_id_path="plan.item_id")
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    given, env = FuseModalitiesInput.model_validate(event), FusionEnvironment.current()
    providers = get_providers()
    # The alignment job has ended either way; a failed one's instance was not given back by
    # its gate, and fusion may wait long for the model: free it for other items now.
    release_alignment_instance(
        providers.capacity(env.capacity_table), given.plan, env.pipeline_config
    )
    model = providers.admitted_model(env.capacity_table, env.pipeline_config.quotas)
    with counting_capacity_waits("Bedrock"):
        output = fuse_item(given, providers.store, model, env.pipeline_config, env.processed_bucket)
    return output.model_dump(mode="json")
