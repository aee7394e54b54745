"""Intake gate: sniff, decode-check and plan an item, or reject it with a reason code.

The whole plan goes to `plan_uri`; the state carries its `PlanSummary` (Step Functions caps a
state at 256 KB, and the plan of a large bundle alone comes close)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from pipeline.adapters.providers import get_providers
from pipeline.adapters.storage import put_json
from pipeline.domain.intake import plan_item
from pipeline.domain.job_sizing import with_job_settings
from pipeline.models.item import ItemRequest, PlanSummary
from pipeline.observability import logger, metrics, tracer
from pipeline.settings import get_settings


class IntakeInput(BaseModel):
    request: ItemRequest
    execution_arn: str | None = None


@logger.inject_lambda_context(correlation_id_path="request.item_id")
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    intake = IntakeInput.model_validate(event)
    settings, store = get_settings(), get_providers().store
    processed = settings.require("processed_bucket")
    with tempfile.TemporaryDirectory(prefix="intake-") as scratch:
        plan = plan_item(intake.request, store, settings.pipeline_config, processed, Path(scratch))
    plan = with_job_settings(
        plan, settings.pipeline_config, settings.require("ingest_bucket"), processed
    )
    put_json(store, processed, f"{plan.work_prefix}plan.json", plan.model_dump(mode="json"))
    outcome = "Accepted" if plan.accepted else "Rejected"
    metrics.add_metric(name=f"Intake{outcome}", unit="Count", value=1)
    logger.info(
        "Intake decided",
        extra={"accepted": plan.accepted, "rejection": plan.rejection, "assets": len(plan.assets)},
    )
    return PlanSummary.of(plan).model_dump(mode="json")
