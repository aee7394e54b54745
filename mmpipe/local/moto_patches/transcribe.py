"""Transcribe: jobs are checked and done by the stand-in (standins.transcribe); moto keeps them."""

from __future__ import annotations

import json
from typing import Any

from moto.moto_api import state_manager
from moto.transcribe.models import TranscribeBackend
from moto.transcribe.responses import TranscribeResponse

from mmpipe.local.moto_patches.shared import originals, state
from mmpipe.local.standins.transcribe import LocalTranscribe

# --- Patch 7: moto's Transcribe never transcribes -----------------------------------------
# moto advances a job one status per GetTranscriptionJob and writes nothing. Local mode's
# Transcribe (standins.transcribe.LocalTranscribe) checks the request, does the job in the
# background and sets its status; moto only stores it. GetTranscriptionJob also returns
# FailureReason, which moto leaves out.
_TRANSCRIPTION_JOB_MODEL = "transcribe::transcriptionjob"


def _start_transcription_job(self: TranscribeResponse) -> Any:
    service: LocalTranscribe = state["transcribe"]
    request = json.loads(self.body or "{}")
    service.check_start(request)
    result = originals["start_transcription_job"](self)
    service.started(self.transcribe_backend.transcriptions[request["TranscriptionJobName"]])
    return result


def _create_vocabulary(self: TranscribeResponse) -> Any:
    state["transcribe"].check_vocabulary(json.loads(self.body or "{}"))
    return originals["create_vocabulary"](self)


def _get_transcription_job(self: TranscribeBackend, transcription_job_name: str) -> Any:
    answer = originals["get_transcription_job"](self, transcription_job_name)
    reason = self.transcriptions[transcription_job_name].failure_reason
    if reason:
        answer["TranscriptionJob"]["FailureReason"] = reason
    return answer


def patch() -> None:
    originals["start_transcription_job"] = TranscribeResponse.start_transcription_job
    originals["create_vocabulary"] = TranscribeResponse.create_vocabulary
    originals["get_transcription_job"] = TranscribeBackend.get_transcription_job
    TranscribeResponse.start_transcription_job = _start_transcription_job  # type: ignore[method-assign]
    TranscribeResponse.create_vocabulary = _create_vocabulary  # type: ignore[method-assign]
    TranscribeBackend.get_transcription_job = _get_transcription_job  # type: ignore[method-assign]
    # Jobs never advance on their own: LocalTranscribe sets their status.
    state_manager.set_transition(
        _TRANSCRIPTION_JOB_MODEL, {"progression": "manual", "times": 10**9}
    )


def restore() -> None:
    TranscribeResponse.start_transcription_job = originals.pop("start_transcription_job")  # type: ignore[method-assign]
    TranscribeResponse.create_vocabulary = originals.pop("create_vocabulary")  # type: ignore[method-assign]
    TranscribeBackend.get_transcription_job = originals.pop("get_transcription_job")  # type: ignore[method-assign]
    state_manager.unset_transition(_TRANSCRIPTION_JOB_MODEL)
