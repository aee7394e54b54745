"""Lambda: an item without a result has no vectors. On an execution that ended without one
(FAILED, TIMED_OUT, ABORTED: indexing runs just before the record is written, so a failure
after it would leave a failed item findable) and on a result deleted from the processed
bucket, remove the item's vectors from the search index."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pipeline.adapters.providers import get_providers
from pipeline.domain.search_index import forget_item, item_of_result_key
from pipeline.environment import ForgetVectorsEnvironment
from pipeline.observability import logger, metrics, tracer
from pipeline_contracts.events import ExecutionStatusEvent, ObjectDeletedEvent, VectorsForgotten


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if event.get("detail-type") == "Object Deleted":
        item_id = item_of_result_key(ObjectDeletedEvent.model_validate(event).detail.object.key)
    else:
        # The execution's name is its item's id (domain/dispatch.py).
        item_id = ExecutionStatusEvent.model_validate(event).detail.name
    if item_id is None:
        return VectorsForgotten(item_id=None, vectors=0).model_dump(mode="json")
    env, providers = ForgetVectorsEnvironment.current(), get_providers()
    logger.append_keys(item_id=item_id)
    removed = forget_item(
        item_id,
        providers.vector_index(env.vector_bucket_name, env.vector_index_name),
        providers.search_ledger(env.search_table),
    )
    if removed:
        metrics.add_metric(name="VectorsForgotten", unit="Count", value=removed)
        logger.info("Removed the item's vectors from the search index", extra={"vectors": removed})
    return VectorsForgotten(item_id=item_id, vectors=removed).model_dump(mode="json")
