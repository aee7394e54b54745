"""Lambda: "Record failure". The failure record of an item the pipeline could not finish."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pipeline.adapters.providers import get_providers
from pipeline.domain.records import record_failure_of
from pipeline.environment import FailureRecorderEnvironment
from pipeline.observability import logger, metrics, tracer
from pipeline_contracts.states.record_failure import RecordFailureInput


@logger.inject_lambda_context(correlation_id_path="request.item_id")
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    given, env = RecordFailureInput.model_validate(event), FailureRecorderEnvironment.current()
    output = record_failure_of(given, get_providers().store, env.processed_bucket)
    if output.processed:
        logger.warning(
            "A step after the result failed; the item keeps its result",
            extra={"failed_state": given.failed_state},
        )
        metrics.add_metric(name="FailuresAfterResult", unit="Count", value=1)
    else:
        metrics.add_metric(name="ItemsFailed", unit="Count", value=1)
        logger.error(
            "Item failed", extra={"failed_state": output.failed_state, "error": output.error}
        )
    return output.model_dump(mode="json")
