""" "Check transcript quality": normalise the transcript, write it to
`results/transcript-<asset>.json`, and judge confidence, coverage and language."""

from __future__ import annotations

from pipeline_contracts.outcomes import AssetResult
from pipeline_contracts.records import CaughtError
from pipeline_contracts.states.transcribe_audio import TranscriptionJob
from pipeline_contracts.states.transcribe_each_audio_asset import AudioAssetState


class CheckTranscriptQualityInput(AudioAssetState):
    job: TranscriptionJob
    timeout: CaughtError | None = None  # set when "Check the job once more" resumed the item


CheckTranscriptQualityOutput = AssetResult
