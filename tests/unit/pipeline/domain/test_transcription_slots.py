"""Transcribe's concurrent-job quota through admission control: a job starts only with a slot,
a full pool makes the task wait before anything is started or parked, and the slot is given
back when the job's outcome reaches the execution (or the wait for it is given up)."""

from __future__ import annotations

import pytest

from pipeline.adapters.speech import JobState, TranscriptionJobSpec
from pipeline.adapters.storage import put_json
from pipeline.domain.admission import TRANSCRIBE_POOL, holder
from pipeline.domain.transcription import check_job_once_more, settle_job, start_transcription
from pipeline.errors import CapacityUnavailable, ServiceThrottled
from pipeline_contracts.naming import transcription_job_name
from pipeline_contracts.states.check_the_job_once_more import CheckJobOnceMoreInput
from pipeline_contracts.states.transcribe_audio import TranscriptionJob
from tests.fakes import InMemoryObjectStore, MemoryLedger
from tests.unit.pipeline.domain.test_transcription import ASSET, REQUEST, _plan


class Jobs:
    def __init__(self) -> None:
        self.started: list[str] = []

    def start(self, spec: TranscriptionJobSpec) -> None:
        self.started.append(spec.job_name)

    def state(self, job_name: str) -> JobState:
        return JobState(
            job_name=job_name, status="COMPLETED", transcript_uri="s3://processed/t.json"
        )

    def vocabulary_state(self, name: str, language_code: str, phrases: list[str]) -> str:
        return "READY"


class Tokens:
    def __init__(self) -> None:
        self.parked: dict[str, tuple[str, str]] = {}
        self.resumed: list[str] = []

    def park(self, job_name: str, task_token: str, item_id: str) -> None:
        self.parked[job_name] = (task_token, item_id)

    def take(self, job_name: str) -> tuple[str, str] | None:
        return self.parked.get(job_name)

    def forget(self, job_name: str) -> None:
        self.parked.pop(job_name, None)

    def resume(self, task_token: str, output: TranscriptionJob) -> None:
        self.resumed.append(task_token)

    def fail(self, task_token: str, error: str, cause: str) -> None:
        raise AssertionError(f"not expected: {error}")


@pytest.fixture
def store() -> InMemoryObjectStore:
    store = InMemoryObjectStore()
    put_json(store, "processed", "work/talk-wav-1/plan.json", _plan().model_dump(mode="json"))
    return store


JOB = transcription_job_name("talk-wav-1", ASSET.asset_id)


def test_a_job_starts_with_a_slot_and_gives_it_back_when_it_ends(store) -> None:
    jobs, tokens, ledger = Jobs(), Tokens(), MemoryLedger()
    start_transcription(REQUEST, store, jobs, tokens, "processed", ledger, slots=1)
    assert jobs.started == [JOB]
    assert ledger.holders(TRANSCRIBE_POOL) == {holder("talk-wav-1", JOB)}

    handled = settle_job(JOB, jobs, tokens, ledger)

    assert handled.outcome == "completed"
    assert ledger.holders(TRANSCRIBE_POOL) == set()


def test_a_full_pool_makes_the_task_wait_before_anything_starts(store) -> None:
    jobs, tokens, ledger = Jobs(), Tokens(), MemoryLedger()
    ledger.take_slot(TRANSCRIBE_POOL, holder("other-item", "job"), 1)

    with pytest.raises(CapacityUnavailable):
        start_transcription(REQUEST, store, jobs, tokens, "processed", ledger, slots=1)

    assert jobs.started == []
    assert tokens.parked == {}
    # And when the other item's job ends, this one starts on the state's retry.
    ledger.release_slot(TRANSCRIBE_POOL, holder("other-item", "job"))
    start_transcription(REQUEST, store, jobs, tokens, "processed", ledger, slots=1)
    assert jobs.started == [JOB]


def test_a_retried_start_holds_one_slot(store) -> None:
    jobs, tokens, ledger = Jobs(), Tokens(), MemoryLedger()
    start_transcription(REQUEST, store, jobs, tokens, "processed", ledger, slots=2)
    start_transcription(REQUEST, store, jobs, tokens, "processed", ledger, slots=2)
    assert len(ledger.holders(TRANSCRIBE_POOL)) == 1


def test_giving_up_on_a_lost_event_gives_the_slot_back(store) -> None:
    jobs, tokens, ledger = Jobs(), Tokens(), MemoryLedger()
    start_transcription(REQUEST, store, jobs, tokens, "processed", ledger, slots=1)
    check_job_once_more(
        CheckJobOnceMoreInput(item_id="talk-wav-1", asset_id=ASSET.asset_id), jobs, tokens, ledger
    )
    assert ledger.holders(TRANSCRIBE_POOL) == set()


class RefusingJobs(Jobs):
    def start(self, spec: TranscriptionJobSpec) -> None:
        raise ServiceThrottled("Transcribe throttled the call (LimitExceededException)")


def test_a_job_that_did_not_start_gives_its_slot_back_at_once(store) -> None:
    tokens, ledger = Tokens(), MemoryLedger()
    with pytest.raises(ServiceThrottled):
        start_transcription(REQUEST, store, RefusingJobs(), tokens, "processed", ledger, slots=1)
    assert ledger.holders(TRANSCRIBE_POOL) == set()
