""" "Send to dead-letter queue" (sqs:sendMessage): one message per failed item on the
failed-items queue, for people to act on. The recorders outside the state machine send the
same `DeadLetter` (records.py, where the published shapes live)."""

from __future__ import annotations

from pipeline_contracts.records import DeadLetter

SendToDeadLetterQueueInput = DeadLetter
