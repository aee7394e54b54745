"""Quarantine: keep the rejected input and write its machine-readable reason."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from pipeline.adapters.providers import get_providers
from pipeline.domain.records import quarantine_item
from pipeline.models.item import PlanSummary
from pipeline.observability import logger, metrics, tracer
from pipeline.settings import get_settings


class QuarantineInput(BaseModel):
    plan: PlanSummary
    execution_arn: str | None = None
    received_at: str | None = None


@logger.inject_lambda_context(correlation_id_path="plan.item_id")
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = QuarantineInput.model_validate(event)
    record = quarantine_item(
        request.plan,
        get_providers().store,
        get_settings().require("processed_bucket"),
        request.execution_arn,
        request.received_at,
    )
    metrics.add_metric(name="ItemsQuarantined", unit="Count", value=1)
    logger.info("Quarantined", extra={"reason": record.reason.code})
    return {"reason_code": record.reason.code, "copies": record.quarantined_copies}
