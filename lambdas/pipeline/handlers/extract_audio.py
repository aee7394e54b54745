"""Lambda: "Extract audio track" (audio Map iteration, for containers Transcribe does not
take). Returns `$.media`: where the extracted audio is, and its Transcribe MediaFormat."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pipeline.adapters.providers import get_providers
from pipeline.domain.transcription import extract_for_transcribe
from pipeline.environment import ExtractAudioEnvironment
from pipeline.observability import logger, metrics, tracer
from pipeline_contracts.states.extract_audio_track import ExtractAudioTrackInput


@logger.inject_lambda_context(correlation_id_path="item_id")
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    given, env = ExtractAudioTrackInput.model_validate(event), ExtractAudioEnvironment.current()
    media = extract_for_transcribe(given, get_providers().store, env.processed_bucket)
    metrics.add_metric(name="AudioTracksExtracted", unit="Count", value=1)
    return media.model_dump(mode="json")
