"""Lambda: "Index for search". Embed the finished item's pieces (each once: the cache first)
and put them in the S3 Vectors index, replacing the object's earlier ones."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pipeline.adapters.providers import get_providers
from pipeline.domain.search_index import index_for_search
from pipeline.environment import IndexForSearchEnvironment
from pipeline.observability import counting_capacity_waits, logger, metrics, tracer
from pipeline_contracts.states.index_for_search import IndexForSearchInput


@logger.inject_lambda_context(correlation_id_path="plan.item_id")
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    given, env = IndexForSearchInput.model_validate(event), IndexForSearchEnvironment.current()
    providers, settings = get_providers(), env.pipeline_config.search
    embedder = providers.admitted_embedder(
        env.capacity_table,
        env.pipeline_config.quotas,
        settings.embedding_model,
        settings.dimension,
    )
    with counting_capacity_waits("Bedrock"):
        indexing = index_for_search(
            given,
            providers.store,
            env.processed_bucket,
            settings,
            embedder,
            providers.vector_index(env.vector_bucket_name, env.vector_index_name),
            providers.search_ledger(env.search_table),
        )
    metrics.add_metric(name="VectorsIndexed", unit="Count", value=indexing.vectors)
    metrics.add_metric(name="EmbeddingCacheHits", unit="Count", value=indexing.cache_hits)
    metrics.add_metric(name="PiecesEmbedded", unit="Count", value=indexing.embedded)
    return indexing.model_dump(mode="json")
