""" "Reserve an alignment instance": admission control before the SageMaker job. Takes one of
the account's processing instances for the item (or raises CapacityUnavailable, and the state
waits); "Check alignment quality" gives it back, and the item's end gives back whatever it
still holds. Its output is discarded (`ResultPath: null`)."""

from __future__ import annotations

from pipeline_contracts._base import Message
from pipeline_contracts.item import PlanSummary


class ReserveAlignmentInstanceInput(Message):
    plan: PlanSummary


class InstanceReserved(Message):
    pool: str
    holder: str


ReserveAlignmentInstanceOutput = InstanceReserved
