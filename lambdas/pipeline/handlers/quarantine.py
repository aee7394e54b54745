"""Lambda: "Quarantine item". Keep the rejected input and write its machine-readable reason."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pipeline.adapters.providers import get_providers
from pipeline.domain.records import quarantine_item
from pipeline.environment import QuarantineEnvironment
from pipeline.observability import logger, metrics, tracer
from pipeline_contracts.states.quarantine_item import QuarantineItemInput, QuarantineItemOutput


@logger.inject_lambda_context(correlation_id_path="plan.item_id")
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    given, env = QuarantineItemInput.model_validate(event), QuarantineEnvironment.current()
    record = quarantine_item(
        given.plan,
        get_providers().store,
        env.processed_bucket,
        given.execution_arn,
        given.received_at,
    )
    metrics.add_metric(name="ItemsQuarantined", unit="Count", value=1)
    logger.info("Quarantined", extra={"reason": record.reason.code})
    output = QuarantineItemOutput(reason_code=record.reason.code, copies=record.quarantined_copies)
    return output.model_dump(mode="json")
