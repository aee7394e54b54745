"""Alignment gate: judge the alignment job's report against the configured thresholds."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from pipeline.adapters.providers import get_providers
from pipeline.adapters.storage import put_json
from pipeline.domain.alignment_review import read_report, review
from pipeline.domain.thresholds import current_thresholds, record_gate_outcomes
from pipeline.models.item import PlanSummary
from pipeline.observability import logger, metrics, tracer
from pipeline.settings import get_settings


class FinishedJob(BaseModel):
    job_name: str
    status: str


class GateInput(BaseModel):
    plan: PlanSummary
    job: FinishedJob


@logger.inject_lambda_context(correlation_id_path="plan.item_id")
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = GateInput.model_validate(event)
    settings, providers = get_settings(), get_providers()
    report = read_report(providers.store, request.plan.alignment_output_uri)
    result, gates = review(
        report,
        request.plan.alignment_output_uri,
        request.job.job_name,
        providers.name,
        current_thresholds(settings),
    )
    record_gate_outcomes(gates)
    uri = put_json(
        providers.store,
        settings.require("processed_bucket"),
        f"{request.plan.work_prefix}results/alignment.json",
        result.model_dump(mode="json"),
    )
    return {"result_uri": uri, "gates": [gate.model_dump(mode="json") for gate in gates]}
