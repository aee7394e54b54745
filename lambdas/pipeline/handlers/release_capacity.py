"""Lambda on Step Functions' "Execution Status Change" (every ending): give back whatever
capacity the item still holds. The normal path gives slots back as soon as the work ends; this
catches the rest (a job that failed and was caught, a timeout, an abort), so a slot is never
held by an item that is no longer running."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pipeline.adapters.providers import get_providers
from pipeline.domain.admission import release_item
from pipeline.environment import ReleaseCapacityEnvironment
from pipeline.observability import logger, metrics, tracer
from pipeline_contracts.events import CapacityReleased, ExecutionStatusEvent


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    change = ExecutionStatusEvent.model_validate(event).detail
    env, providers = ReleaseCapacityEnvironment.current(), get_providers()
    # The execution's name is its item's id (domain/dispatch.py).
    logger.append_keys(item_id=change.name)
    freed = release_item(providers.capacity(env.capacity_table), change.name)
    if freed:
        metrics.add_metric(name="CapacityReleasedAtEnd", unit="Count", value=len(freed))
        logger.info("Gave back capacity at the item's end", extra={"freed": freed})
    return CapacityReleased(freed=freed).model_dump(mode="json")
