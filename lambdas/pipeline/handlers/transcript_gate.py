"""Transcript gate: normalise the Transcribe output, then check confidence, coverage, language."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from pipeline.adapters.providers import get_providers
from pipeline.adapters.storage import ObjectMissing, put_json
from pipeline.domain.plans import load_asset
from pipeline.domain.thresholds import current_thresholds, record_gate_outcomes
from pipeline.domain.transcription import normalise_transcript, transcript_gates, transcript_key
from pipeline.models.item import ObjectRef
from pipeline.observability import logger, metrics, tracer
from pipeline.settings import get_settings


class CompletedJob(BaseModel):
    job_name: str
    status: str
    transcript_uri: str | None = None


class GateInput(BaseModel):
    """The audio Map iteration's state after "Transcribe audio"."""

    asset_id: str
    item_id: str
    plan_uri: str
    work_prefix: str
    job: CompletedJob


@logger.inject_lambda_context(correlation_id_path="item_id")
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = GateInput.model_validate(event)
    settings, providers = get_settings(), get_providers()
    bucket = settings.require("processed_bucket")
    plan, asset = load_asset(providers.store, request.plan_uri, request.asset_id)
    key = transcript_key(request.work_prefix, request.job.job_name)
    document = json.loads(providers.store.read_bytes(ObjectRef(bucket=bucket, key=key)))
    subtitles = {}
    for extension in ("vtt", "srt"):
        ref = ObjectRef(bucket=bucket, key=f"{key.removesuffix('.json')}.{extension}")
        try:
            providers.store.size(ref)
            subtitles[extension] = ref.uri
        except ObjectMissing:
            pass
    transcript = normalise_transcript(
        document, asset, request.job.job_name, providers.name, subtitles
    )
    gates = transcript_gates(transcript, current_thresholds(settings), plan.language)
    record_gate_outcomes(gates)
    uri = put_json(
        providers.store,
        bucket,
        f"{request.work_prefix}results/transcript-{asset.asset_id}.json",
        transcript.model_dump(mode="json"),
    )
    return {
        "asset_id": asset.asset_id,
        "result_uri": uri,
        "gates": [gate.model_dump(mode="json") for gate in gates],
    }
