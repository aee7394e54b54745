""" "Announce the result" (events:putEvents) sends the `ItemProcessed` detail that "Write
results" returned; "Keep the unsent announcement" (sqs:sendMessage) keeps it when it could not
be sent. The item is processed either way: its record is already written."""

from __future__ import annotations

from typing import Literal

from pipeline_contracts._base import Message
from pipeline_contracts.records import CaughtError, ItemProcessed

AnnounceTheResultInput = ItemProcessed


class UnsentAnnouncement(Message):
    """The unsent-events queue's message: the event as it would have been sent, and why not."""

    Source: Literal["multimodal-pipeline"]
    DetailType: Literal["ItemProcessed"]
    Detail: ItemProcessed
    error: CaughtError
