""" "Transcribe each audio asset" (Map): one iteration per `plan.branches.audio` task.

The iteration's state starts as `AudioIteration` (the ItemSelector) and gains `media` from
"Extract audio track" when that ran. It returns an `AssetResult`, or an `AssetFailure`
("Audio asset failed"); the other assets go on either way.
"""

from __future__ import annotations

from pydantic import Field

from pipeline_contracts._base import Message
from pipeline_contracts.outcomes import AssetFailure, AssetResult
from pipeline_contracts.states.extract_audio_track import TranscribeMedia


class AudioIteration(Message):
    asset_id: str
    media_format: str
    sample_rate_hz: int | None
    item_id: str
    plan_uri: str
    work_prefix: str
    transcribe_timeout_s: int = Field(ge=60)


class AudioAssetState(AudioIteration):
    """The iteration's state after "Extract audio track" (`media` set) or without it."""

    media: TranscribeMedia | None = None


TranscribeEachAudioAssetOutput = list[AssetResult | AssetFailure]
