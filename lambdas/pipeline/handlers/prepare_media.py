"""Lambda: "Prepare media for the model" (vision Map iteration). Returns `$.prepared`."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pipeline.adapters.providers import get_providers
from pipeline.domain.media_preparation import PrepareRequest, prepare_media
from pipeline.observability import logger, tracer
from pipeline.settings import get_settings


@logger.inject_lambda_context(correlation_id_path="item_id")
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = get_settings()
    prepared = prepare_media(
        PrepareRequest.model_validate(event),
        get_providers().store,
        settings.pipeline_config,
        settings.require("processed_bucket"),
    )
    return prepared.model_dump(mode="json")
