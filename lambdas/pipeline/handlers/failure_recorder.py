"""Failure recorder: the failure record of an item the pipeline could not finish."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ValidationError

from pipeline.adapters.providers import get_providers
from pipeline.domain.records import record_failure
from pipeline.models.item import ItemRequest
from pipeline.observability import logger, metrics, tracer
from pipeline.settings import get_settings


class FailureInput(BaseModel):
    request: dict[str, Any]
    failed_state: str | None = None
    error: dict[str, str] | None = None
    execution_arn: str | None = None


@logger.inject_lambda_context(correlation_id_path="request.item_id")
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    failure = FailureInput.model_validate(event)
    try:
        request: ItemRequest | None = ItemRequest.model_validate(failure.request)
    except ValidationError:
        request = None  # A malformed execution input is itself the failure being recorded.
    item_id = (
        request.item_id if request else (failure.execution_arn or "unknown").rsplit(":", 1)[-1]
    )
    record = record_failure(
        request,
        item_id,
        failure.failed_state,
        failure.error,
        get_providers().store,
        get_settings().require("processed_bucket"),
        failure.execution_arn,
    )
    if record is None:
        # The result was written before the failing step: the item is processed.
        logger.warning(
            "A step after the result failed; the item keeps its result",
            extra={"failed_state": failure.failed_state},
        )
        metrics.add_metric(name="FailuresAfterResult", unit="Count", value=1)
        return {"recorded": False, "processed": True}
    metrics.add_metric(name="ItemsFailed", unit="Count", value=1)
    logger.error(
        "Item failed", extra={"failed_state": record.failed_state, "error": record.failure.error}
    )
    return {
        "recorded": True,
        "processed": False,
        "failed_state": record.failed_state,
        "error": record.failure.error,
    }
