""" "Extract audio track": for a container Transcribe does not take (or audio above 48 kHz),
copy the asset's audio into one it does, under `work/<item>/audio/`."""

from __future__ import annotations

from pipeline_contracts._base import Message


class ExtractAudioTrackInput(Message):
    asset_id: str
    item_id: str
    plan_uri: str
    work_prefix: str


class TranscribeMedia(Message):
    """Audio extracted for Transcribe: where it is, and its Transcribe MediaFormat."""

    bucket: str
    key: str
    media_format: str


ExtractAudioTrackOutput = TranscribeMedia
