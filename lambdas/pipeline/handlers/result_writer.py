"""Result writer: derived files, then the ItemResult (last: it is the item's record), once.
Returns the ItemProcessed event's detail for the state machine to announce."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from pipeline.adapters.providers import get_providers
from pipeline.adapters.storage import read_json
from pipeline.domain.plans import load_plan
from pipeline.domain.publishing import assemble_result, item_processed_detail, publish_result
from pipeline.models.branches import GateResult
from pipeline.models.item import ItemRequest, PlanSummary
from pipeline.models.results import FusionDraft
from pipeline.observability import logger, metrics, tracer
from pipeline.settings import get_settings


class FusionSummary(BaseModel):
    fusion_uri: str


class FinalVerdict(BaseModel):
    gate: GateResult
    status: str


class WriteInput(BaseModel):
    request: ItemRequest
    plan: PlanSummary
    fusion: FusionSummary
    final_gate: FinalVerdict
    execution_arn: str | None = None
    started_at: str | None = None


settings = get_settings()
persistence = DynamoDBPersistenceLayer(table_name=settings.require("idempotency_table"))
# One publication per execution: a retried invocation returns the first one's answer.
idempotency = IdempotencyConfig(event_key_jmespath="[plan.item_id, execution_arn]")


@idempotent_function(  # type: ignore[untyped-decorator]
    data_keyword_argument="write", persistence_store=persistence, config=idempotency
)
def write_once(write: dict[str, Any]) -> dict[str, Any]:
    request = WriteInput.model_validate(write)
    providers, bucket = get_providers(), settings.require("processed_bucket")
    draft = FusionDraft.model_validate(read_json(providers.store, request.fusion.fusion_uri))
    result = assemble_result(
        request.request,
        load_plan(providers.store, request.plan.plan_uri),
        draft,
        request.final_gate.gate,
        request.final_gate.status,
        providers.store,
        request.execution_arn,
        request.started_at,
    )
    uri = publish_result(result, providers.store, bucket, request.request.received_at)
    metrics.add_metric(
        name="ItemsDegraded" if result.status == "degraded" else "ItemsProcessed",
        unit="Count",
        value=1,
    )
    return {"result_uri": uri, "status": result.status, "event": item_processed_detail(result, uri)}


@logger.inject_lambda_context(correlation_id_path="plan.item_id")
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    idempotency.register_lambda_context(context)
    answer: dict[str, Any] = write_once(write=event)
    return answer
