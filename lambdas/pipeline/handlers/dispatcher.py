"""SQS batch of S3 events -> one Step Functions execution per item (idempotent by name)."""

from __future__ import annotations

import json
from typing import Any

import boto3
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

from pipeline.adapters.aws_errors import error_code, translated_aws_errors
from pipeline.adapters.providers import get_providers
from pipeline.domain.dispatch import Skipped, request_for_event
from pipeline.observability import logger, metrics, tracer
from pipeline.settings import get_settings

processor = BatchProcessor(event_type=EventType.SQS)
_sfn: Any = None


def _stepfunctions() -> Any:
    global _sfn  # noqa: PLW0603 - one client per cold start
    if _sfn is None:
        _sfn = boto3.client("stepfunctions")
    return _sfn


def start_item(record: SQSRecord) -> None:
    settings = get_settings()
    event = S3EventNotificationEventBridgeModel.model_validate_json(record.body)
    key, request = request_for_event(event, get_providers().store, settings.pipeline_config)
    if isinstance(request, Skipped):
        logger.info("Event starts nothing", extra={"key": key, "reason": request.reason})
        metrics.add_metric(name="ObjectsIgnored", unit="Count", value=1)
        return
    logger.append_keys(item_id=request.item_id)
    try:
        with translated_aws_errors("Step Functions"):
            _stepfunctions().start_execution(
                stateMachineArn=settings.require("state_machine_arn"),
                name=request.item_id,
                input=json.dumps(request.model_dump(mode="json")),
            )
        metrics.add_metric(name="ItemsStarted", unit="Count", value=1)
    except ClientError as error:
        if error_code(error) != "ExecutionAlreadyExists":
            raise
        # The same object version was already started: a duplicate event, not an error.
        logger.info("Duplicate event: execution already exists")
        metrics.add_metric(name="DuplicateEvents", unit="Count", value=1)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(  # type: ignore[return-value]
        event=event, record_handler=start_item, processor=processor, context=context
    )
