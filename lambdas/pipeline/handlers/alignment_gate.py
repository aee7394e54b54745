"""Lambda: "Check alignment quality". Judge the alignment job's report against the
configured thresholds, and write its summary."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pipeline.adapters.providers import get_providers
from pipeline.domain.admission import release_alignment_instance
from pipeline.domain.alignment_review import check_alignment
from pipeline.environment import AlignmentGateEnvironment
from pipeline.observability import logger, metrics, tracer
from pipeline_contracts.states.check_alignment_quality import CheckAlignmentQualityInput


@logger.inject_lambda_context(correlation_id_path="plan.item_id")
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    given, env = (
        CheckAlignmentQualityInput.model_validate(event),
        AlignmentGateEnvironment.current(),
    )
    providers = get_providers()
    # The job has ended: its instance is free for the next item before this one is judged.
    release_alignment_instance(
        providers.capacity(env.capacity_table), given.plan, env.pipeline_config
    )
    thresholds = providers.thresholds(env.thresholds_parameter_path, env.thresholds_max_age_s)
    output = check_alignment(
        given, providers.store, env.processed_bucket, providers.name, thresholds.current()
    )
    return output.model_dump(mode="json")
