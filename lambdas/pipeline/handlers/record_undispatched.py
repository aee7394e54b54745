"""S3 events no execution was started for -> a failure record per object.

They reach the Undispatched queue when the dispatcher failed on them on every delivery (the
buffer's redrive policy), or when EventBridge could not put them on the buffer at all. An
object whose execution exists after all (the dispatcher started it, then failed before it
could say so) is left to that execution, which writes the item's record itself.
"""

from __future__ import annotations

import hashlib
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
from pydantic import ValidationError

from pipeline.adapters.aws_errors import error_code, translated_aws_errors
from pipeline.adapters.providers import get_providers
from pipeline.adapters.queues import SqsDeadLetters
from pipeline.domain.dispatch import Skipped, request_for_event
from pipeline.domain.records import record_undispatched
from pipeline.models.item import ItemRequest
from pipeline.observability import logger, metrics, tracer
from pipeline.settings import get_settings

processor = BatchProcessor(event_type=EventType.SQS)
_sfn: Any = None


def _execution_exists(state_machine_arn: str, name: str) -> bool:
    global _sfn  # noqa: PLW0603 - one client per cold start
    if _sfn is None:
        _sfn = boto3.client("stepfunctions")
    arn = state_machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{name}"
    try:
        with translated_aws_errors("Step Functions"):
            _sfn.describe_execution(executionArn=arn)
    except ClientError as error:
        if error_code(error) == "ExecutionDoesNotExist":
            return False
        raise
    return True


def _request(body: str) -> ItemRequest | Skipped | None:
    """The request the dispatcher would have built (the same key decoding, so the same item
    id); None when the body is not an S3 event."""
    try:
        event = S3EventNotificationEventBridgeModel.model_validate_json(body)
    except ValidationError:
        return None
    return request_for_event(event, get_providers().store, get_settings().pipeline_config)[1]


def record_one(record: SQSRecord) -> None:
    settings = get_settings()
    request = _request(record.body)
    if isinstance(request, Skipped):
        logger.info("Undispatched event needs no record", extra={"reason": request.reason})
        return
    if request and _execution_exists(settings.require("state_machine_arn"), request.item_id):
        logger.info("The execution exists after all; it records the item")
        return
    fallback = "undispatchable-" + hashlib.sha256(record.message_id.encode()).hexdigest()[:20]
    detail = (
        "the dispatcher failed on every delivery of its S3 event, or EventBridge could not "
        "deliver it (see the dispatcher's logs)."
        if request
        else f"its event is not an S3 Object Created event: {record.body[:500]!r}."
    )
    written = record_undispatched(
        request,
        fallback,
        detail,
        get_providers().store,
        settings.require("processed_bucket"),
        SqsDeadLetters(settings.require("failed_items_queue_url")),
    )
    if written is not None:
        metrics.add_metric(name="ObjectsNotDispatched", unit="Count", value=1)
        logger.error("Object never started", extra={"item_id": written.item_id})


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(  # type: ignore[return-value]
        event=event, record_handler=record_one, processor=processor, context=context
    )
