"""Step Functions "Execution Status Change" (FAILED, TIMED_OUT, ABORTED) -> the failure record
of an item whose execution ended outside the Catch graph. Items that have a record (every
ending the state machine handles itself) are left alone."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ValidationError

from pipeline.adapters.providers import get_providers
from pipeline.adapters.queues import SqsDeadLetters
from pipeline.domain.records import record_ending_outside_the_catch
from pipeline.models.item import ItemRequest
from pipeline.observability import logger, metrics, tracer
from pipeline.settings import get_settings


class ExecutionStatusChange(BaseModel):
    executionArn: str  # noqa: N815 - the event's own field names
    name: str
    status: str
    input: str | None = None
    error: str | None = None
    cause: str | None = None


class StatusChangeEvent(BaseModel):
    detail: ExecutionStatusChange


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    change = StatusChangeEvent.model_validate(event).detail
    try:
        request: ItemRequest | None = ItemRequest.model_validate_json(change.input or "")
    except ValidationError:
        request = None  # a malformed execution input: the record says what is known
    logger.append_keys(item_id=request.item_id if request else change.name)
    settings = get_settings()
    record = record_ending_outside_the_catch(
        request,
        change.name,
        change.executionArn,
        change.status,
        change.error,
        change.cause,
        get_providers().store,
        settings.require("processed_bucket"),
        SqsDeadLetters(settings.require("failed_items_queue_url")),
    )
    if record is None:
        return {"recorded": False}
    metrics.add_metric(name="EndingsOutsideCatch", unit="Count", value=1)
    logger.error(
        "Execution ended outside the Catch graph",
        extra={"status": change.status, "error": change.error},
    )
    return {"recorded": True, "status": change.status}
