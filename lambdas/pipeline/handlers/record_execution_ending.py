"""Lambda on Step Functions' "Execution Status Change" (FAILED, TIMED_OUT, ABORTED): the
failure record of an item whose execution ended outside the Catch graph. Items that have a
record (every ending the state machine handles itself) are left alone."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pipeline.adapters.providers import get_providers
from pipeline.domain.records import record_ending
from pipeline.environment import ExecutionEndingsEnvironment
from pipeline.observability import logger, metrics, tracer
from pipeline_contracts.events import EndingHandled, ExecutionStatusEvent


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    change = ExecutionStatusEvent.model_validate(event).detail
    env, providers = ExecutionEndingsEnvironment.current(), get_providers()
    logger.append_keys(item_id=change.name)
    record = record_ending(
        change,
        providers.store,
        env.processed_bucket,
        providers.dead_letters(env.failed_items_queue_url),
    )
    if record is None:
        return EndingHandled(recorded=False).model_dump(mode="json")
    metrics.add_metric(name="EndingsOutsideCatch", unit="Count", value=1)
    logger.error(
        "Execution ended outside the Catch graph",
        extra={"status": change.status, "error": change.error},
    )
    return EndingHandled(recorded=True, status=change.status).model_dump(mode="json")
