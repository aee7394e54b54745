"""Lambda: an item that cannot be found by its record has no vectors. Its vectors leave the
search index when its execution ends without a result (FAILED, TIMED_OUT, ABORTED: indexing
runs just before the record is written), when its record says indexing failed (an
ItemProcessed event with the branch "search" degraded: a timeout can stop the indexer after
some vectors were written), and when its result is deleted from the processed bucket (but not
while a current version of the result is still there: a lifecycle rule expiring an old
version of a rewritten record deletes nothing the item still has)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pipeline.adapters.providers import get_providers
from pipeline.domain.search_index import forget_item, item_to_forget
from pipeline.environment import ForgetVectorsEnvironment
from pipeline.observability import logger, metrics, tracer
from pipeline_contracts.events import VectorsForgotten


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    env, providers = ForgetVectorsEnvironment.current(), get_providers()
    item_id = item_to_forget(event, providers.store)
    if item_id is None:
        return VectorsForgotten(item_id=None, vectors=0).model_dump(mode="json")
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
