"""Lambda: "Find the file's manifest". A file under the bundle prefix: is it part of a bundle
(its manifest's record accounts for it), or is it quarantined (`plan` carries the rejection
the "Quarantine item" step records)?"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from pipeline.adapters.providers import get_providers
from pipeline.domain.bundle_files import judge_bundle_file
from pipeline.models.item import ItemPlan, ItemRequest, PlanSummary
from pipeline.observability import logger, metrics, tracer
from pipeline.settings import get_settings


class BundleFileInput(BaseModel):
    request: ItemRequest
    waited: bool = False


@logger.inject_lambda_context(correlation_id_path="request.item_id")
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    given = BundleFileInput.model_validate(event)
    request = given.request
    judged = judge_bundle_file(
        request, get_providers().store, get_settings().pipeline_config, waited=given.waited
    )
    logger.info("Bundle file judged", extra={"verdict": judged.verdict, "key": request.source.key})
    plan = None
    if judged.rejection is not None:
        metrics.add_metric(name="BundleFilesWithoutBundle", unit="Count", value=1)
        rejected = ItemPlan(
            item_id=request.item_id,
            kind=request.kind,
            source=request.source,
            accepted=False,
            rejection=judged.rejection,
        )
        plan = PlanSummary.of(rejected).model_dump(mode="json")
    return {**judged.model_dump(mode="json", exclude={"rejection"}), "plan": plan}
