"""Quarantine and failure records: where items that are not processed end, with why."""

from __future__ import annotations

import json
import posixpath
from datetime import UTC, datetime

from pydantic import ValidationError

from pipeline.adapters.providers import DeadLetters
from pipeline.adapters.storage import ObjectMissing, ObjectStore, put_json
from pipeline_contracts.events import ExecutionStatusChange
from pipeline_contracts.item import ItemRequest, ObjectRef, PlanSummary
from pipeline_contracts.naming import RECORD_KINDS, RecordKind, quarantined_copy_key, record_key
from pipeline_contracts.outcomes import StepFailure
from pipeline_contracts.records import CaughtError, DeadLetter, FailureRecord, QuarantineRecord
from pipeline_contracts.states.record_failure import RecordFailureInput, RecordFailureOutput

# Step Functions caps a cause at 32 KB; a record keeps what an operator needs to read.
MAX_CAUSE_CHARS = 8000


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def existing_record(
    store: ObjectStore,
    bucket: str,
    item_id: str,
    received_at: str,
    kinds: tuple[RecordKind, ...] = RECORD_KINDS,
) -> RecordKind | None:
    """Which record the item already has, if any."""
    for kind in kinds:
        try:
            store.size(ObjectRef(bucket=bucket, key=record_key(kind, item_id, received_at)))
        except ObjectMissing:
            continue
        return kind
    return None


def has_result(store: ObjectStore, bucket: str, request: ItemRequest) -> bool:
    return (
        existing_record(store, bucket, request.item_id, request.received_at, kinds=("results",))
        is not None
    )


def quarantine_item(
    plan: PlanSummary,
    store: ObjectStore,
    processed_bucket: str,
    execution_arn: str | None,
    received_at: str | None = None,
) -> QuarantineRecord:
    """Copy the rejected input next to its record, so it stays inspectable whatever happens
    to the ingest bucket's lifecycle."""
    if plan.rejection is None:
        raise ValueError("only a rejected plan can be quarantined")
    recorded_at = now_iso()
    copies: list[str] = []
    try:
        name = posixpath.basename(plan.source.key) or "object"
        copies.append(
            store.copy(plan.source, processed_bucket, quarantined_copy_key(plan.item_id, name))
        )
    except ObjectMissing:
        pass  # Deleted before we could copy it; the record still says what arrived.
    record = QuarantineRecord(
        item_id=plan.item_id,
        kind=plan.kind,
        source=plan.source,
        reason=plan.rejection,
        quarantined_copies=copies,
        execution_arn=execution_arn,
        recorded_at=recorded_at,
    )
    put_json(
        store,
        processed_bucket,
        record_key("quarantine", plan.item_id, received_at or recorded_at),
        record.model_dump(mode="json"),
    )
    return record


def failure_from_error(error: CaughtError) -> StepFailure:
    cause = error.Cause
    try:  # Lambda errors arrive as a JSON cause: keep the message, not the envelope.
        parsed = json.loads(cause)
        if isinstance(parsed, dict) and "errorMessage" in parsed:
            cause = str(parsed["errorMessage"])
    except ValueError:
        pass
    return StepFailure(error=error.Error, cause=cause[:MAX_CAUSE_CHARS])


def record_failure(
    request: ItemRequest | None,
    item_id: str,
    failed_state: str | None,
    error: CaughtError,
    store: ObjectStore,
    processed_bucket: str,
    execution_arn: str | None,
) -> FailureRecord | None:
    """The failure record of an item, or None when the item already has its result (a step
    after the result write failed): one record per item, and the result was written last."""
    if request is not None and has_result(store, processed_bucket, request):
        return None
    return _write_failure(
        request,
        item_id,
        failed_state,
        failure_from_error(error),
        store,
        processed_bucket,
        execution_arn,
    )


def _write_failure(
    request: ItemRequest | None,
    item_id: str,
    failed_state: str | None,
    failure: StepFailure,
    store: ObjectStore,
    processed_bucket: str,
    execution_arn: str | None,
) -> FailureRecord:
    recorded_at = now_iso()
    record = FailureRecord(
        item_id=item_id,
        source=request.source if request else None,
        failed_state=failed_state,
        failure=failure,
        execution_arn=execution_arn,
        recorded_at=recorded_at,
    )
    put_json(
        store,
        processed_bucket,
        record_key("failures", item_id, request.received_at if request else recorded_at),
        record.model_dump(mode="json"),
    )
    return record


def record_ending_outside_the_catch(
    request: ItemRequest | None,
    execution_name: str,
    execution_arn: str,
    status: str,
    error: str | None,
    cause: str | None,
    store: ObjectStore,
    processed_bucket: str,
    dead_letters: DeadLetters,
) -> FailureRecord | None:
    """An execution that ended FAILED, TIMED_OUT or ABORTED: if its item has no record (the
    ending happened outside the Catch graph: a timeout, an abort, a payload over 256 KB),
    write its failure record and dead-letter it. None when the item already has a record."""
    item_id = request.item_id if request else execution_name
    received_at = request.received_at if request else None
    if received_at and existing_record(store, processed_bucket, item_id, received_at):
        return None
    return _dead_letter_then_record(
        request,
        item_id,
        f"execution {status}",
        CaughtError(
            Error=error or f"States.{status.title().replace('_', '')}",
            Cause=cause or f"the execution ended {status} outside the state machine's Catch",
        ),
        store,
        processed_bucket,
        dead_letters,
        execution_arn,
    )


def record_undispatched(
    request: ItemRequest | None,
    fallback_id: str,
    detail: str,
    store: ObjectStore,
    processed_bucket: str,
    dead_letters: DeadLetters,
) -> FailureRecord | None:
    """An S3 event no execution was started for (the dispatcher kept failing on it, or
    EventBridge could not deliver it): the object's failure record and dead-letter message.
    None when the item already has a record."""
    item_id = request.item_id if request else fallback_id
    if request and existing_record(store, processed_bucket, item_id, request.received_at):
        return None
    return _dead_letter_then_record(
        request,
        item_id,
        "Dispatch",
        CaughtError(
            Error="NotDispatched",
            Cause=f"No execution was started for this object: {detail} Upload it again "
            "(or copy it onto itself) to retry.",
        ),
        store,
        processed_bucket,
        dead_letters,
        None,
    )


def _dead_letter_then_record(
    request: ItemRequest | None,
    item_id: str,
    failed_state: str,
    error: CaughtError,
    store: ObjectStore,
    processed_bucket: str,
    dead_letters: DeadLetters,
    execution_arn: str | None,
) -> FailureRecord:
    """The dead letter first, then the record: the record is what says "done", so a retry
    after a failed send sends again (a duplicate message at worst), never nothing. The
    callers have looked for any record of the item already."""
    failure = failure_from_error(error)
    dead_letters.send(
        DeadLetter(
            execution_arn=execution_arn,
            request=request.model_dump(mode="json") if request else None,
            item_id=item_id,
            failed_state=failed_state,
            error=CaughtError(Error=failure.error, Cause=failure.cause),
        )
    )
    return _write_failure(
        request, item_id, failed_state, failure, store, processed_bucket, execution_arn
    )


def record_failure_of(
    given: RecordFailureInput, store: ObjectStore, processed_bucket: str
) -> RecordFailureOutput:
    """ "Record failure": a malformed execution input is itself the failure being recorded,
    under the execution's name."""
    try:
        request: ItemRequest | None = ItemRequest.model_validate(given.request)
    except ValidationError:
        request = None
    item_id = request.item_id if request else given.execution_arn.rsplit(":", 1)[-1]
    record = record_failure(
        request,
        item_id,
        given.failed_state,
        given.error,
        store,
        processed_bucket,
        given.execution_arn,
    )
    if record is None:
        # The result was written before the failing step: the item is processed.
        return RecordFailureOutput(recorded=False, processed=True)
    return RecordFailureOutput(
        recorded=True,
        processed=False,
        failed_state=record.failed_state,
        error=record.failure.error,
    )


def record_ending(
    change: ExecutionStatusChange,
    store: ObjectStore,
    processed_bucket: str,
    dead_letters: DeadLetters,
) -> FailureRecord | None:
    """A status change of an execution that ended FAILED, TIMED_OUT or ABORTED."""
    try:
        request: ItemRequest | None = ItemRequest.model_validate_json(change.input or "")
    except ValidationError:
        request = None  # a malformed execution input: the record says what is known
    return record_ending_outside_the_catch(
        request,
        change.name,
        change.execution_arn,
        change.status,
        change.error,
        change.cause,
        store,
        processed_bucket,
        dead_letters,
    )
