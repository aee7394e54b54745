""" "Quarantine item": keep a copy of the rejected input and write its QuarantineRecord."""

from __future__ import annotations

from pipeline_contracts._base import Message
from pipeline_contracts.item import PlanSummary, RejectionCode


class QuarantineItemInput(Message):
    plan: PlanSummary
    execution_arn: str
    received_at: str


class QuarantineItemOutput(Message):
    reason_code: RejectionCode
    copies: list[str]
