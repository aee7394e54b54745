"""Lambda on the ingest queue: each S3 "Object Created" event -> one Step Functions execution
per item (idempotent by name). A batch reports its failed records; the rest are done."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from pipeline.adapters.providers import get_providers
from pipeline.domain.dispatch import dispatch_event
from pipeline.environment import DispatcherEnvironment
from pipeline.observability import logger, metrics, tracer

processor = BatchProcessor(event_type=EventType.SQS)
METRICS = {"started": "ItemsStarted", "duplicate": "DuplicateEvents", "skipped": "ObjectsIgnored"}


def start_item(record: SQSRecord) -> None:
    env, providers = DispatcherEnvironment.current(), get_providers()
    event = S3EventNotificationEventBridgeModel.model_validate_json(record.body)
    dispatched = dispatch_event(
        event, providers.store, env.pipeline_config, providers.executions(env.state_machine_arn)
    )
    logger.info(
        "Event dispatched",
        extra={
            "key": dispatched.key,
            "outcome": dispatched.outcome,
            "item_id": dispatched.item_id,
            "reason": dispatched.reason,
        },
    )
    metrics.add_metric(name=METRICS[dispatched.outcome], unit="Count", value=1)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(  # type: ignore[return-value]
        event=event, record_handler=start_item, processor=processor, context=context
    )
