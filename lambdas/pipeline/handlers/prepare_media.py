"""Lambda: "Prepare media for the model" (vision Map iteration). Returns `$.prepared`."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pipeline.adapters.providers import get_providers
from pipeline.domain.media_preparation import prepare_media
from pipeline.environment import PrepareMediaEnvironment
from pipeline.observability import logger, metrics, tracer
from pipeline_contracts.states.prepare_media_for_the_model import PrepareMediaInput


@logger.inject_lambda_context(correlation_id_path="item_id")
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    given, env = PrepareMediaInput.model_validate(event), PrepareMediaEnvironment.current()
    prepared = prepare_media(
        given, get_providers().store, env.pipeline_config, env.processed_bucket
    )
    return prepared.model_dump(mode="json")
