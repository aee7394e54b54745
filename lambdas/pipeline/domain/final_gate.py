"""The final gate: processed or degraded, from every gate's verdict so far.

Passes when a fused output exists, the share of passed gates (branch gates and the fusion
gate, from the FusionDraft) reaches `final_min_passed_ratio`, and every modality the item
holds was understood by a branch that passed its gates: "processed" means each part of the
item was understood, not only that the pipeline ran. The item is degraded when a branch
failed, some of a branch's assets failed, or this gate failed; the reason says which, and
nothing is hidden either way.
"""

from __future__ import annotations

from pipeline.adapters.storage import ObjectStore, read_json
from pipeline.config import Thresholds
from pipeline.domain.gate_outcomes import record_gate_outcomes
from pipeline_contracts.outcomes import GateResult
from pipeline_contracts.states.check_final_quality import CheckFinalQualityInput, ItemVerdict
from pipeline_contracts.work.fusion import FusionDraft

FINAL_GATE = "final"

# Which branches can understand a modality. Text and captions reach the model with the
# images, video and documents they accompany, or on their own; captions also through the
# alignment of their audio or video; video through its pictures or its speech.
UNDERSTOOD_BY: dict[str, frozenset[str]] = {
    "image": frozenset({"vision"}),
    "document": frozenset({"vision"}),
    "video": frozenset({"vision", "audio"}),
    "audio": frozenset({"audio"}),
    "text": frozenset({"vision"}),
    "captions": frozenset({"vision", "alignment"}),
}


def check_final_quality(
    request: CheckFinalQualityInput, store: ObjectStore, thresholds: Thresholds
) -> ItemVerdict:
    draft = FusionDraft.model_validate(read_json(store, request.fusion.fusion_uri))
    gate = final_gate(draft, thresholds.final_min_passed_ratio, set(draft.modalities))
    record_gate_outcomes([gate])
    degraded = bool(draft.degraded_branches) or not gate.passed
    return ItemVerdict(gate=gate, status="degraded" if degraded else "processed")


def not_understood(draft: FusionDraft, modalities: set[str]) -> list[str]:
    """The item's modalities that no branch which passed all its gates covers, each with the
    state of the branches that could have. A flagged branch may have understood some assets
    of the modality; "processed" asks that a branch vouch for it with every gate passed."""
    passed: set[str] = {o.branch for o in draft.branches if o.status == "succeeded"}
    states: dict[str, str] = {o.branch: o.status for o in draft.branches}
    missing = []
    for modality in sorted(modalities):
        branches = UNDERSTOOD_BY.get(modality, frozenset())
        if not branches & passed:
            why = ", ".join(f"{b} {states.get(b, 'not run')}" for b in sorted(branches))
            missing.append(f"{modality} ({why})")
    return missing


def final_gate(draft: FusionDraft, min_ratio: float, modalities: set[str]) -> GateResult:
    gates = draft.gates or [draft.fusion_gate]
    passed_count = sum(1 for gate in gates if gate.passed)
    ratio = passed_count / len(gates)
    missing = not_understood(draft, modalities)
    problems = []
    if draft.fused is None:
        problems.append("there is no fused output")
    if ratio < min_ratio:
        problems.append(f"only {passed_count} of {len(gates)} gates passed")
    if draft.degraded_branches:
        problems.append(f"degraded branches: {', '.join(draft.degraded_branches)}")
    if missing:
        problems.append(f"no branch that passed all its gates covers: {'; '.join(missing)}")
    passed = draft.fused is not None and ratio >= min_ratio and not missing
    verdict = "passed" if passed else "failed"
    detail = f" ({'; '.join(problems)})" if problems else ""
    return GateResult(
        name=FINAL_GATE,
        passed=passed,
        score=round(ratio, 4),
        threshold=min_ratio,
        reason=f"{passed_count} of {len(gates)} gates passed; the final gate {verdict}{detail}.",
    )
