""" "Transcribe audio" (lambda:invoke.waitForTaskToken): start the Transcribe job and park the
task token; the job's EventBridge state change resumes the task with a `TranscriptionJob`."""

from __future__ import annotations

from typing import Literal

from pipeline_contracts._base import Message
from pipeline_contracts.states.transcribe_each_audio_asset import AudioAssetState


class TranscribeAudioInput(Message):
    task_token: str
    asset: AudioAssetState


class TranscriptionStarted(Message):
    """The start function's own answer (the task waits for the token, not for this)."""

    job_name: str


class TranscriptionJob(Message):
    """What the task resumes with: the job that completed, and where its transcript is."""

    job_name: str
    status: Literal["COMPLETED"]
    transcript_uri: str | None = None


TranscribeAudioOutput = TranscriptionJob
