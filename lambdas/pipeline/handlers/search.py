"""Lambda: the search function. Applications (and `mmpipe search --stack`) invoke it with a
`SearchRequest` (words or an image); it answers a `SearchResponse`. IAM decides who may call
it (lambda:InvokeFunction); it is not a state of the pipeline."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pipeline.adapters.providers import get_providers
from pipeline.domain.search import search
from pipeline.environment import SearchEnvironment
from pipeline.observability import logger, metrics, tracer
from pipeline_contracts.search import SearchRequest


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request, env = SearchRequest.model_validate(event), SearchEnvironment.current()
    providers, settings = get_providers(), env.pipeline_config.search
    answer = search(
        request,
        providers.embedder(settings.embedding_model, settings.dimension),
        providers.vector_index(env.vector_bucket_name, env.vector_index_name),
    )
    metrics.add_metric(name="SearchQueries", unit="Count", value=1)
    metrics.add_metric(name="SearchQueryLatency", unit="Milliseconds", value=answer.query_ms)
    return answer.model_dump(mode="json")
