""" "Keep the unsent announcement" (sqs:sendMessage): the ItemProcessed event EventBridge did
not take, kept on the unsent-events queue with why; the item stays processed."""

from __future__ import annotations

from typing import Literal

from pipeline_contracts._base import Message
from pipeline_contracts.records import CaughtError, ItemProcessed


class UnsentAnnouncement(Message):
    """The unsent-events queue's message: the event as it would have been sent, and why not."""

    Source: Literal["multimodal-pipeline"]
    DetailType: Literal["ItemProcessed"]
    Detail: ItemProcessed
    error: CaughtError
