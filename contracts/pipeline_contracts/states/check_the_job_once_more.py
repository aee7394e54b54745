""" "Check the job once more": the wait for Transcribe's completion event timed out; ask the
service once and resume with the job's result if it finished (the event was what was lost)."""

from __future__ import annotations

from pipeline_contracts._base import Message
from pipeline_contracts.states.transcribe_audio import TranscriptionJob


class CheckJobOnceMoreInput(Message):
    item_id: str
    asset_id: str


CheckJobOnceMoreOutput = TranscriptionJob
