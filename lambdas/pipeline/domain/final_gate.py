"""The final gate: processed or degraded, from every gate's verdict so far.

Passes when a fused output exists and the share of passed gates (branch gates and the fusion
gate, from the FusionDraft) reaches `final_min_passed_ratio`. The item is degraded when a
branch failed or this gate failed; it is never hidden either way.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from pipeline.adapters.storage import ObjectStore, read_json
from pipeline.config import Thresholds
from pipeline.domain.fusion import FusionOutcome
from pipeline.domain.thresholds import record_gate_outcomes
from pipeline.models.branches import GateResult
from pipeline.models.item import ItemPlan
from pipeline.models.results import FusionDraft

FINAL_GATE = "final"


class FinalGateRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    plan: ItemPlan
    fusion: FusionOutcome


class FinalVerdict(BaseModel):
    """`$.final_gate`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    gate: GateResult
    status: Literal["processed", "degraded"]


def check_final_quality(
    request: FinalGateRequest, store: ObjectStore, thresholds: Thresholds
) -> FinalVerdict:
    draft = FusionDraft.model_validate(read_json(store, request.fusion.fusion_uri))
    gate = final_gate(draft, thresholds.final_min_passed_ratio)
    record_gate_outcomes([gate])
    degraded = bool(draft.degraded_branches) or not gate.passed
    return FinalVerdict(gate=gate, status="degraded" if degraded else "processed")


def final_gate(draft: FusionDraft, min_ratio: float) -> GateResult:
    gates = draft.gates or [draft.fusion_gate]
    passed_count = sum(1 for gate in gates if gate.passed)
    ratio = passed_count / len(gates)
    problems = []
    if draft.fused is None:
        problems.append("there is no fused output")
    if ratio < min_ratio:
        problems.append(f"only {passed_count} of {len(gates)} gates passed")
    if draft.degraded_branches:
        problems.append(f"failed branches: {', '.join(draft.degraded_branches)}")
    passed = draft.fused is not None and ratio >= min_ratio
    verdict = "passed" if passed else "failed"
    detail = f" ({'; '.join(problems)})" if problems else ""
    return GateResult(
        name=FINAL_GATE,
        passed=passed,
        score=round(ratio, 4),
        threshold=min_ratio,
        reason=f"{passed_count} of {len(gates)} gates passed; the final gate {verdict}{detail}.",
    )
