"""Lambda: "Check intake". Sniff, decode-check and plan an item, or reject it with a reason
code. The whole plan goes to `plan_uri`; the state carries its `PlanSummary`."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pipeline.adapters.providers import get_providers
from pipeline.domain.intake import check_intake
from pipeline.environment import IntakeEnvironment
from pipeline.observability import logger, metrics, tracer
from pipeline_contracts.item import PlanSummary
from pipeline_contracts.states.check_intake import CheckIntakeInput


@logger.inject_lambda_context(correlation_id_path="request.item_id")
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    given, env = CheckIntakeInput.model_validate(event), IntakeEnvironment.current()
    plan = check_intake(
        given.request,
        get_providers().store,
        env.pipeline_config,
        env.ingest_bucket,
        env.processed_bucket,
    )
    metrics.add_metric(
        name="IntakeAccepted" if plan.accepted else "IntakeRejected", unit="Count", value=1
    )
    logger.info(
        "Intake decided",
        extra={"accepted": plan.accepted, "rejection": plan.rejection, "assets": len(plan.assets)},
    )
    return PlanSummary.of(plan).model_dump(mode="json")
