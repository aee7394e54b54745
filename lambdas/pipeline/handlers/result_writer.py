"""Lambda: "Write results". Derived files, the bill (from the execution's own history and
the price table), then the ItemResult (last: it is the item's record), once per execution: a
retried invocation returns the first one's answer. Returns the ItemProcessed event's detail
for "Announce the result"."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    BasePersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from pipeline.adapters.providers import get_providers
from pipeline.domain.costing import Billing
from pipeline.domain.publishing import write_results
from pipeline.environment import ResultWriterEnvironment
from pipeline.observability import logger, metrics, tracer
from pipeline.prices import load_prices
from pipeline_contracts.states.write_results import WriteResultsInput

# One publication per execution.
IDEMPOTENCY = IdempotencyConfig(event_key_jmespath="[plan.item_id, execution_arn]")


def _write(write: dict[str, Any]) -> dict[str, Any]:
    env, providers = ResultWriterEnvironment.current(), get_providers()
    billing = Billing(providers.history(), env.lambda_memory_mb, load_prices(), env.aws_region)
    output = write_results(
        WriteResultsInput.model_validate(write), providers.store, env.processed_bucket, billing
    )
    metrics.add_metric(
        name="ItemsDegraded" if output.status == "degraded" else "ItemsProcessed",
        unit="Count",
        value=1,
    )
    return output.model_dump(mode="json")


@cache
def _write_once(persistence: BasePersistenceLayer) -> Callable[..., dict[str, Any]]:
    """The idempotent writer over one persistence layer (one per table, from the seam)."""
    once: Callable[..., dict[str, Any]] = idempotent_function(
        data_keyword_argument="write", persistence_store=persistence, config=IDEMPOTENCY
    )(_write)
    return once


@logger.inject_lambda_context(correlation_id_path="plan.item_id")
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    IDEMPOTENCY.register_lambda_context(context)
    table = ResultWriterEnvironment.current().idempotency_table
    return _write_once(get_providers().idempotency(table))(write=event)
