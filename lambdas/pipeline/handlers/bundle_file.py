"""Lambda: "Find the file's manifest" / "Look again for the file's manifest". Is a file under
the bundle prefix part of a bundle, or quarantined (`plan` carries the rejection)?"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pipeline.adapters.providers import get_providers
from pipeline.domain.bundle_files import find_manifest
from pipeline.environment import BundleFileEnvironment
from pipeline.observability import logger, metrics, tracer
from pipeline_contracts.states.find_the_files_manifest import FindManifestInput


@logger.inject_lambda_context(correlation_id_path="request.item_id")
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    given, env = FindManifestInput.model_validate(event), BundleFileEnvironment.current()
    output = find_manifest(
        given, get_providers().store, env.pipeline_config, env.ingest_bucket, env.processed_bucket
    )
    logger.info("Bundle file judged", extra={"verdict": output.verdict})
    if output.plan is not None:
        metrics.add_metric(name="BundleFilesWithoutBundle", unit="Count", value=1)
    return output.model_dump(mode="json")
