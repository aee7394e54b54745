""" "Record failure": the FailureRecord of an item the pipeline could not finish, unless its
result was already written (then the item stays processed). "Send to dead-letter queue" then
sends a `records.DeadLetter`."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from pipeline_contracts._base import Message
from pipeline_contracts.records import CaughtError


class RecordFailureInput(Message):
    request: dict[str, Any] = Field(
        description="The execution input, unparsed: a malformed one is itself a failure."
    )
    failed_state: str
    error: CaughtError
    execution_arn: str


class RecordFailureOutput(Message):
    recorded: bool
    processed: bool = Field(description="True when the result was written before the failure.")
    failed_state: str | None = None
    error: str | None = None
