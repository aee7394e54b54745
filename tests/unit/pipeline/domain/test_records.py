"""Quarantine and failure records: every non-processed item ends somewhere, with why."""

from __future__ import annotations

import json

import pytest

from pipeline.domain.records import (
    failure_from_error,
    quarantine_item,
    record_ending_outside_the_catch,
    record_failure,
)
from pipeline_contracts.item import ItemRequest, ObjectRef, PlanSummary, Rejection, RejectionCode
from pipeline_contracts.naming import record_key
from pipeline_contracts.records import CaughtError, DeadLetter
from tests.fakes import InMemoryObjectStore, plan_fields


def test_a_rejected_item_is_copied_and_recorded_with_its_reason_code():
    # Given a rejected plan for an object that exists
    store = InMemoryObjectStore()
    source = store.put("in", "incoming/bad file.png", b"\x89PNG\r\n")
    plan = PlanSummary(
        item_id="bad-1",
        kind="object",
        source=source,
        accepted=False,
        rejection=Rejection(code=RejectionCode.CORRUPT_MEDIA, message="Truncated."),
        **plan_fields("bad-1"),
    )
    # When it is quarantined
    record = quarantine_item(plan, store, "processed", "arn:exec")
    # Then the bytes are kept and the record says why, machine-readably
    assert record.quarantined_copies == ["s3://processed/quarantine/objects/bad-1/bad file.png"]
    assert store.body("processed", "quarantine/objects/bad-1/bad file.png") == b"\x89PNG\r\n"
    keys = list(store.list_keys("processed", "quarantine/dt="))
    assert len(keys) == 1
    assert json.loads(store.body("processed", keys[0]))["reason"]["code"] == "CORRUPT_MEDIA"


def test_quarantine_survives_an_object_deleted_meanwhile():
    store = InMemoryObjectStore()
    plan = PlanSummary(
        item_id="gone-1",
        kind="object",
        source=ObjectRef(bucket="in", key="incoming/gone.txt"),
        accepted=False,
        rejection=Rejection(code=RejectionCode.OBJECT_NOT_FOUND, message="Gone."),
        **plan_fields("gone-1"),
    )
    record = quarantine_item(plan, store, "processed", None)
    assert record.quarantined_copies == []
    assert list(store.list_keys("processed", "quarantine/dt="))


def test_lambda_error_causes_are_unwrapped_into_the_failure_record():
    cause = json.dumps({"errorType": "ResultWriteFailed", "errorMessage": "bad result"})
    failure = failure_from_error(CaughtError(Error="ResultWriteFailed", Cause=cause))
    assert failure.error == "ResultWriteFailed"
    assert failure.cause == "bad result"


def test_failure_record_is_written_under_failures():
    store = InMemoryObjectStore()
    request = ItemRequest(
        item_id="x-1",
        kind="object",
        source=ObjectRef(bucket="in", key="incoming/x"),
        received_at="t",
    )
    record = record_failure(
        request,
        "x-1",
        "Write results",
        CaughtError(Error="States.TaskFailed", Cause="boom"),
        store,
        "processed",
        "arn:exec",
    )
    (key,) = list(store.list_keys("processed", "failures/"))
    assert key.endswith("/x-1.json")
    assert json.loads(store.body("processed", key))["failed_state"] == "Write results"
    assert record.status == "failed"


def _request(received_at: str = "2026-11-30T23:59:58+00:00") -> ItemRequest:
    return ItemRequest(
        item_id="late-1",
        kind="object",
        received_at=received_at,
        source=ObjectRef(bucket="in", key="incoming/late.png", version_id="v"),
    )


def test_results_are_partitioned_by_the_day_the_item_was_received():
    # A write retried after midnight lands on the same key as the first attempt.
    assert record_key("results", "late-1", "2026-11-30T23:59:58+00:00") == (
        "results/dt=2026-11-30/late-1.json"
    )


def test_an_item_with_a_result_gets_no_failure_record():
    # Given an item whose result was written before a later step failed
    store = InMemoryObjectStore()
    store.put("processed", record_key("results", "late-1", _request().received_at), b"{}")

    # When the failure recorder runs for it
    record = record_failure(
        _request(),
        "late-1",
        "Write results",
        CaughtError(Error="InjectedFault", Cause="after the write"),
        store,
        "processed",
        "arn:exec",
    )

    # Then it records nothing: the item's one record is its result
    assert record is None
    assert list(store.list_keys("processed", "failures/")) == []


def test_an_item_without_a_result_gets_its_failure_record():
    store = InMemoryObjectStore()
    record = record_failure(
        _request(),
        "late-1",
        "Fuse modalities",
        CaughtError(Error="ServiceUnavailable", Cause="down"),
        store,
        "processed",
        "arn:exec",
    )
    assert record is not None
    assert len(list(store.list_keys("processed", "failures/"))) == 1


class _DeadLetters:
    def __init__(self) -> None:
        self.sent: list[DeadLetter] = []

    def send(self, message: DeadLetter) -> None:
        self.sent.append(message)


def test_an_ending_outside_the_catch_graph_gets_a_record_and_a_dead_letter():
    # Given an item whose execution timed out, with no record written by the state machine
    store, dead = InMemoryObjectStore(), _DeadLetters()

    # When its status change is handled
    record = record_ending_outside_the_catch(
        _request(), "late-1", "arn:exec:late-1", "TIMED_OUT", None, None, store, "processed", dead
    )

    # Then it has one failure record saying how it ended, and a dead letter
    assert record is not None
    assert (record.failed_state, record.failure.error) == ("execution TIMED_OUT", "States.TimedOut")
    assert len(list(store.list_keys("processed", "failures/"))) == 1
    assert dead.sent[0].item_id == "late-1"


def test_an_item_that_has_any_record_is_left_alone():
    store, dead = InMemoryObjectStore(), _DeadLetters()
    store.put("processed", "quarantine/dt=2026-11-30/late-1.json", b"{}")
    assert (
        record_ending_outside_the_catch(
            _request(), "late-1", "arn:exec", "FAILED", "ItemFailed", "x", store, "processed", dead
        )
        is None
    )
    assert dead.sent == []


class _FlakyDeadLetters(_DeadLetters):
    def __init__(self) -> None:
        super().__init__()
        self.failures = 1

    def send(self, message: DeadLetter) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("SQS is briefly unreachable")
        super().send(message)


def test_a_dead_letter_that_failed_to_send_is_sent_on_the_retry():
    # Given a dead-letter queue that refuses the first send
    store, dead = InMemoryObjectStore(), _FlakyDeadLetters()
    args = ("late-1", "arn:exec:late-1", "FAILED", "X", "y", store, "processed", dead)

    # When the ending is handled, fails, and is retried (as its event is redelivered)
    with pytest.raises(ConnectionError):
        record_ending_outside_the_catch(_request(), *args)  # type: ignore[arg-type]
    assert list(store.list_keys("processed", "failures/")) == []
    record = record_ending_outside_the_catch(_request(), *args)  # type: ignore[arg-type]

    # Then the retry sent the dead letter and wrote the one record
    assert record is not None
    assert [m.item_id for m in dead.sent] == ["late-1"]
    assert len(list(store.list_keys("processed", "failures/"))) == 1
