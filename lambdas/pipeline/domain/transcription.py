"""Transcribe jobs: the audio Transcribe takes, the job to start (language, vocabulary), and
how the waiting task learns the job's outcome (the callback, or a last look after a timeout).
Its output becomes a Transcript in transcripts.py."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Literal

from pipeline.adapters.providers import TaskTokenStore
from pipeline.adapters.speech import JobAlreadyExists, JobState, SpeechJobs, TranscriptionJobSpec
from pipeline.adapters.storage import ObjectStore
from pipeline.domain.admission import TRANSCRIBE_POOL, CapacityLedger, holder, take_slot
from pipeline.domain.audio_extraction import extract_audio
from pipeline.domain.plans import find_asset, load_asset, load_plan
from pipeline.errors import (
    ServiceThrottled,
    ServiceUnavailable,
    TranscriptionFailed,
    TranscriptionTimedOut,
    VocabularyPending,
)
from pipeline_contracts.events import JobStateHandled
from pipeline_contracts.item import ItemPlan
from pipeline_contracts.naming import WorkFiles, transcription_job_name
from pipeline_contracts.naming import vocabulary_name as vocabulary_name_for_phrases
from pipeline_contracts.states.check_the_job_once_more import CheckJobOnceMoreInput
from pipeline_contracts.states.extract_audio_track import ExtractAudioTrackInput, TranscribeMedia
from pipeline_contracts.states.transcribe_audio import (
    TranscribeAudioInput,
    TranscriptionJob,
    TranscriptionStarted,
)

TRANSCRIBE_LANGUAGE = re.compile(r"^[a-z]{2}-[A-Z]{2}$")
# Transcribe vocabulary phrases: letters, digits (spelled), apostrophes, hyphens, periods, spaces.
PHRASE_ALLOWED = re.compile(r"[^\w' .-]+", re.UNICODE)


def extract_for_transcribe(
    request: ExtractAudioTrackInput, store: ObjectStore, processed_bucket: str
) -> TranscribeMedia:
    """Copy the asset's audio into a container Transcribe takes, next to the item's work."""
    _, asset = load_asset(store, request.plan_uri, request.asset_id)
    with tempfile.TemporaryDirectory(prefix="extract-") as scratch:
        source = Path(scratch) / "source"
        store.download(asset.source, source)
        extracted = extract_audio(source, Path(scratch))
        key = WorkFiles(request.work_prefix).extracted_audio(asset.asset_id, extracted.path.suffix)
        store.put_bytes(
            processed_bucket, key, extracted.path.read_bytes(), "application/octet-stream"
        )
    return TranscribeMedia(bucket=processed_bucket, key=key, media_format=extracted.media_format)


def clean_phrases(phrases: list[str]) -> list[str]:
    cleaned = (PHRASE_ALLOWED.sub(" ", phrase).strip() for phrase in phrases)
    return sorted({" ".join(p.split()) for p in cleaned if p})


def vocabulary_bytes(phrases: list[str]) -> int:
    """The size counted against Transcribe's vocabulary limit: the phrases `job_spec` submits
    (cleaned), one a line in UTF-8, as in a vocabulary file."""
    return len("\n".join(clean_phrases(phrases)).encode("utf-8"))


def job_spec(
    request: TranscribeAudioInput,
    plan: ItemPlan,
    processed_bucket: str,
    speech: SpeechJobs,
    kms_key_id: str | None = None,
) -> TranscriptionJobSpec:
    """The job to start, for the request's asset of `plan`, in the plan's language with its
    vocabulary; raises VocabularyPending while a custom vocabulary is being built."""
    iteration = request.asset
    asset = find_asset(plan, iteration.asset_id)
    language = plan.language if plan.language and TRANSCRIBE_LANGUAGE.match(plan.language) else None
    vocabulary_name = None
    phrases = clean_phrases(plan.vocabulary or [])
    if language and phrases:
        vocabulary_name = vocabulary_name_for_phrases(language, phrases)
        state = speech.vocabulary_state(vocabulary_name, language, phrases)
        if state == "PENDING":
            raise VocabularyPending(vocabulary_name)
        if state != "READY":
            vocabulary_name = None  # A failed vocabulary must not block the transcript.
    name = transcription_job_name(iteration.item_id, asset.asset_id)
    media = iteration.media
    return TranscriptionJobSpec(
        job_name=name,
        media_uri=f"s3://{media.bucket}/{media.key}"
        if media
        else f"s3://{asset.source.bucket}/{asset.source.key}",
        media_format=media.media_format if media else asset.media_format,
        output_bucket=processed_bucket,
        output_key=WorkFiles(iteration.work_prefix).transcript(name),
        kms_key_id=kms_key_id,
        language_code=language,
        vocabulary_name=vocabulary_name,
        item_id=iteration.item_id,
    )


def callback_output(state: JobState) -> TranscriptionJob:
    """What the waiting 'Transcribe audio' task receives when the job completed."""
    if state.status != "COMPLETED":
        raise TranscriptionFailed(state.failure_reason or f"Transcribe reported {state.status}")
    return TranscriptionJob(
        job_name=state.job_name, status="COMPLETED", transcript_uri=state.transcript_uri
    )


def report_job_outcome(
    job_name: str, task_token: str, speech: SpeechJobs, responder: TaskTokenStore
) -> Literal["completed", "failed", "unknown"]:
    """Tell the waiting task how the job ended. Asks the service rather than trusting the
    event's copy. When the outcome cannot be learned for a reason that will not pass (access
    denied, a job that vanished), the task is failed with that reason at once: a callback that
    gives up silently would leave the item waiting out its timeout. Transient faults raise, so
    the event is retried with the token still parked."""
    try:
        output = callback_output(speech.state(job_name))
    except TranscriptionFailed as failure:
        responder.fail(task_token, "TranscriptionFailed", str(failure))
        return "failed"
    except (ServiceThrottled, ServiceUnavailable):
        raise
    except Exception as error:  # reported to the execution, by class name
        responder.fail(task_token, type(error).__name__, f"{type(error).__name__}: {error}")
        return "unknown"
    responder.resume(task_token, output)
    return "completed"


def recover_after_timeout(job_name: str, speech: SpeechJobs) -> TranscriptionJob:
    """The wait for the job's completion event timed out. The event may be what was lost (an
    EventBridge delivery that never came, a callback that failed): ask the service once, and
    resume with the job's result if it finished, as the callback would have."""
    state = speech.state(job_name)
    if state.status in ("COMPLETED", "FAILED"):
        return callback_output(state)  # raises TranscriptionFailed for FAILED
    raise TranscriptionTimedOut(
        f"Transcription job {job_name} was still {state.status} when the item's transcribe "
        "timeout passed; its asset ends failed (long media: raise transcribe_timeout_s)."
    )


def start_transcription(
    request: TranscribeAudioInput,
    store: ObjectStore,
    speech: SpeechJobs,
    tokens: TaskTokenStore,
    processed_bucket: str,
    capacity: CapacityLedger,
    slots: int,
) -> TranscriptionStarted:
    """Start the job and park the task token: the execution waits, at no cost, until the
    job's EventBridge state change resumes it (`settle_job`)."""
    iteration = request.asset
    spec = job_spec(request, load_plan(store, iteration.plan_uri), processed_bucket, speech)
    # One of the account's concurrent-job slots, or CapacityUnavailable: the task waits.
    take_slot(capacity, TRANSCRIBE_POOL, holder(iteration.item_id, spec.job_name), slots)
    # Park first: the job may finish before start() returns.
    tokens.park(spec.job_name, request.task_token, iteration.item_id)
    slot = holder(iteration.item_id, spec.job_name)
    try:
        speech.start(spec)
    except JobAlreadyExists:
        # A retry or duplicate: if the job already ended, its event is gone; answer now.
        if speech.state(spec.job_name).status in ("COMPLETED", "FAILED"):
            report_job_outcome(spec.job_name, request.task_token, speech, tokens)
            tokens.forget(spec.job_name)
            capacity.release_slot(TRANSCRIBE_POOL, slot)
    except Exception:
        # No job runs: its slot goes back now (a retry takes it again), not at the item's end.
        capacity.release_slot(TRANSCRIBE_POOL, slot)
        raise
    return TranscriptionStarted(job_name=spec.job_name)


def settle_job(
    job_name: str, speech: SpeechJobs, tokens: TaskTokenStore, capacity: CapacityLedger
) -> JobStateHandled:
    """A job's state changed: resume (or fail) the execution parked on it, if any, and give
    its slot back (one with no execution waiting is given back when that execution ends)."""
    parked = tokens.take(job_name)
    if parked is None:
        return JobStateHandled(resumed=False)
    token, item_id = parked
    outcome = report_job_outcome(job_name, token, speech, tokens)
    tokens.forget(job_name)
    capacity.release_slot(TRANSCRIBE_POOL, holder(item_id, job_name))
    return JobStateHandled(resumed=True, outcome=outcome)


def check_job_once_more(
    request: CheckJobOnceMoreInput,
    speech: SpeechJobs,
    tokens: TaskTokenStore,
    capacity: CapacityLedger,
) -> TranscriptionJob:
    job_name = transcription_job_name(request.item_id, request.asset_id)
    # The parked token is stale either way: the task it belonged to has timed out.
    tokens.forget(job_name)
    try:
        return recover_after_timeout(job_name, speech)
    finally:
        # Ended or given up on: either way this item no longer waits for the job.
        capacity.release_slot(TRANSCRIBE_POOL, holder(request.item_id, job_name))
