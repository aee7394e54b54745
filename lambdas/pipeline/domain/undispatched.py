"""S3 events no execution was started for: the dispatcher failed on every delivery, or
EventBridge could not deliver them. Each lands on the Undispatched queue, whose recorder
writes the object's failure record (and a dead letter), unless an execution exists after all
(it records the item) or the event starts nothing by design."""

from __future__ import annotations

import hashlib

from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel
from pydantic import ValidationError

from pipeline.adapters.providers import DeadLetters, Executions
from pipeline.adapters.storage import ObjectStore
from pipeline.config import PipelineConfig
from pipeline.domain.dispatch import Skipped, request_for_event
from pipeline.domain.records import record_undispatched
from pipeline_contracts.records import FailureRecord

MAX_SHOWN_BODY = 500


def record_undispatched_message(
    body: str,
    message_id: str,
    store: ObjectStore,
    config: PipelineConfig,
    executions: Executions,
    dead_letters: DeadLetters,
    processed_bucket: str,
) -> FailureRecord | None:
    """The failure record written for one undispatched message; None when none is due."""
    try:
        event = S3EventNotificationEventBridgeModel.model_validate_json(body)
    except ValidationError:
        event = None
    # The request the dispatcher would have built: the same key decoding, so the same item id.
    request = request_for_event(event, store, config)[1] if event else None
    if isinstance(request, Skipped):
        return None
    if request and executions.exists(request.item_id):
        return None  # the execution exists after all; it records the item
    fallback = "undispatchable-" + hashlib.sha256(message_id.encode()).hexdigest()[:20]
    detail = (
        "the dispatcher failed on every delivery of its S3 event, or EventBridge could not "
        "deliver it (see the dispatcher's logs)."
        if request
        else f"its event is not an S3 Object Created event: {body[:MAX_SHOWN_BODY]!r}."
    )
    return record_undispatched(request, fallback, detail, store, processed_bucket, dead_letters)
