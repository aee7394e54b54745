"""Lambda: "Reserve an alignment instance". Admission control before the SageMaker job: hold
one of the account's processing instances, or raise CapacityUnavailable and wait."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pipeline.adapters.providers import get_providers
from pipeline.domain.admission import reserve_alignment_instance
from pipeline.environment import ReserveInstanceEnvironment
from pipeline.observability import counting_capacity_waits, logger, metrics, tracer
from pipeline_contracts.states.reserve_an_alignment_instance import (
    ReserveAlignmentInstanceInput,
)


@logger.inject_lambda_context(correlation_id_path="plan.item_id")
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    given, env = (
        ReserveAlignmentInstanceInput.model_validate(event),
        ReserveInstanceEnvironment.current(),
    )
    providers = get_providers()
    with counting_capacity_waits("SageMaker"):
        reserved = reserve_alignment_instance(
            providers.capacity(env.capacity_table), given.plan, env.pipeline_config
        )
    return reserved.model_dump(mode="json")
