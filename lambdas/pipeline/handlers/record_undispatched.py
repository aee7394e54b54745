"""Lambda on the Undispatched queue: S3 events no execution was started for (the dispatcher
failed on every delivery, or EventBridge could not deliver them) get the object's failure
record, so no upload goes unaccounted."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from pipeline.adapters.providers import get_providers
from pipeline.domain.undispatched import record_undispatched_message
from pipeline.environment import UndispatchedEnvironment
from pipeline.observability import logger, metrics, tracer

processor = BatchProcessor(event_type=EventType.SQS)


def record_one(record: SQSRecord) -> None:
    env, providers = UndispatchedEnvironment.current(), get_providers()
    written = record_undispatched_message(
        record.body,
        record.message_id,
        providers.store,
        env.pipeline_config,
        providers.executions(env.state_machine_arn),
        providers.dead_letters(env.failed_items_queue_url),
        env.processed_bucket,
    )
    if written is None:
        logger.info("Undispatched event needs no record (an execution or a skip accounts for it)")
        return
    metrics.add_metric(name="ObjectsNotDispatched", unit="Count", value=1)
    logger.error("Object never started", extra={"item_id": written.item_id})


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(  # type: ignore[return-value]
        event=event, record_handler=record_one, processor=processor, context=context
    )
