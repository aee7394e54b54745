"""Fusion: ask one model to reason across the branches, and write the item's draft record.

1. Each branch output is judged and its result bodies read once (branch_verdicts.py).
2. The bodies are condensed into one bounded context (fusion_prompt.py); everything derived
   from files is untrusted data.
3. One Converse call (`config.models.fusion`) answers for the item's profile, validated
   against a profile-specific schema with one repair attempt. Still invalid, or nothing to
   fuse -> `fused=None` and the fusion gate fails; the item still continues. A moderation
   answer of "allow" becomes "review" when an analysis found safety concerns or text aimed
   at the model (`moderation_overrides`); `fused.overrides` says why.
4. The `FusionDraft` is written to `{work_prefix}fusion.json`.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from pipeline.adapters.model import ModelClient, ModelRequest, TextBlock
from pipeline.adapters.storage import ObjectStore, put_json
from pipeline.config import PipelineConfig
from pipeline.domain.branch_verdicts import (
    READABLE_GATE,
    BranchBodies,
    judge_branches,
    merged_timeline,
)
from pipeline.domain.data_fence import DataFence
from pipeline.domain.fusion_prompt import PROFILE_TASKS, SYSTEM_PROMPT, fusion_context
from pipeline.domain.gate_outcomes import record_gate_outcomes
from pipeline.domain.model_usage import MeteredModel
from pipeline.domain.plans import load_plan
from pipeline.domain.structured_output import (
    Answer,
    answer_instructions,
    answer_shape,
    validate_reply,
)
from pipeline.domain.text_tools import clip
from pipeline.observability import logger
from pipeline_contracts.item import ItemPlan
from pipeline_contracts.naming import WorkFiles
from pipeline_contracts.outcomes import BranchVerdict, GateResult
from pipeline_contracts.states.fuse_modalities import FuseModalitiesInput, FuseModalitiesOutput
from pipeline_contracts.work.fusion import ANSWERS, FusedAnswer, FusionDraft, ModerationAnswer
from pipeline_contracts.work.vision import VisionResult

FUSION_GATE = "fusion_output"
MAX_OVERRIDE_CHARS = 400
_FUSED: TypeAdapter[FusedAnswer] = TypeAdapter(FusedAnswer)


def fuse_item(
    request: FuseModalitiesInput,
    store: ObjectStore,
    model: ModelClient,
    config: PipelineConfig,
    processed_bucket: str,
) -> FuseModalitiesOutput:
    plan = load_plan(store, request.plan.plan_uri)
    verdicts, bodies = judge_branches(request.all_branches, store)
    degraded = sorted({v.branch for v in verdicts if v.status == "failed" or v.failed_assets})
    model_ids = sorted({v.model_id for v in bodies.vision})
    fused: FusedAnswer | None = None
    # Every call's tokens (the answer and any repair), for the record's cost.
    metered = MeteredModel(model)
    if not bodies.has_content:
        fusion_gate = _fusion_gate(False, "No branch produced content to fuse.")
    else:
        fused, fusion_gate = _ask_model(plan, verdicts, bodies, metered, config)
        model_ids = sorted({*model_ids, config.models.fusion})
    gates = [gate for verdict in verdicts for gate in verdict.gates] + [fusion_gate]
    draft = FusionDraft(
        item_id=plan.item_id,
        modalities=sorted({asset.modality for asset in plan.assets}),
        branches=verdicts,
        degraded_branches=degraded,
        fused=fused,
        fusion_gate=fusion_gate,
        gates=gates,
        timeline=merged_timeline(bodies),
        model_ids=model_ids,
        model_usage=metered.usage(),
    )
    uri = put_json(
        store,
        processed_bucket,
        WorkFiles(plan.work_prefix).fusion,
        draft.model_dump(mode="json"),
    )
    # The gates evaluated here: readability of branch results, and the fused answer.
    record_gate_outcomes([*(g for g in gates if g.name == READABLE_GATE), fusion_gate])
    return FuseModalitiesOutput(
        fusion_uri=uri,
        degraded_branches=degraded,
        status="degraded" if degraded else "processed",
    )


def _ask_model(
    plan: ItemPlan,
    verdicts: list[BranchVerdict],
    bodies: BranchBodies,
    model: ModelClient,
    config: PipelineConfig,
) -> tuple[FusedAnswer | None, GateResult]:
    answer_model = ANSWERS[plan.profile]
    task = f"fuse every modality of one item for the {plan.profile} profile, as JSON"
    fence = DataFence()
    system = "\n\n".join(
        (
            SYSTEM_PROMPT,
            PROFILE_TASKS[plan.profile],
            fence.rules,
            answer_instructions(answer_model, config.models.fusion),
        )
    )
    reply = model.converse(
        ModelRequest(
            model_id=config.models.fusion,
            system=system,
            max_tokens=config.models.max_output_tokens,
            content=[TextBlock(text=fusion_context(plan, verdicts, bodies, fence))],
            **answer_shape(answer_model),
        )
    )
    verdict = validate_reply(
        Answer.of(reply),
        answer_model,
        model,
        config.models.fusion,
        config.models.max_output_tokens,
        task,
    )
    if verdict.value is None:
        errors = (verdict.errors or "").replace("\n", "; ")[:600]
        return None, _fusion_gate(False, f"The fused answer is invalid after one repair: {errors}")
    fields = verdict.value.model_dump()
    overrides: list[str] = []
    if isinstance(verdict.value, ModerationAnswer):
        overrides = moderation_overrides(fields["details"], bodies.vision, fence.signals)
    final_reply = verdict.repair_replies[-1] if verdict.repaired else reply
    fused = _FUSED.validate_python(
        {
            **fields,
            "profile": plan.profile,
            "provider": final_reply.provider,
            "model_id": final_reply.model_id,
            "overrides": overrides,
        }
    )
    note = " after one repair" if verdict.repaired else ""
    if overrides:
        note += "; its recommended_action was raised from allow to review"
    return fused, _fusion_gate(True, f"The fused answer validates for {plan.profile}{note}.")


def moderation_overrides(
    details: dict[str, Any], vision: list[VisionResult], context_signals: list[str]
) -> list[str]:
    """A moderation answer may "allow" only when nothing found a concern: any safety concern
    in a vision analysis, or text aimed at the model (the fence heuristic, at analysis time or
    in this prompt), turns "allow" into "review" in `details`. The model saw that text too,
    and may have been steered by it; "block" and "review" stand. Returns why, one line each.
    """
    reasons = [
        f"the analysis of {result.asset_id} lists safety concerns: "
        + clip("; ".join(result.analysis.safety_concerns), MAX_OVERRIDE_CHARS)
        for result in vision
        if result.analysis is not None and result.analysis.safety_concerns
    ]
    reasons += [
        f"text aimed at the model in {result.asset_id}: "
        + clip("; ".join(result.injection_signals), MAX_OVERRIDE_CHARS)
        for result in vision
        if result.injection_signals
    ]
    if context_signals:
        reasons.append(
            "text aimed at the model in the fusion prompt's data: "
            + clip("; ".join(context_signals), MAX_OVERRIDE_CHARS)
        )
    if details.get("recommended_action") != "allow" or not reasons:
        return []
    details["recommended_action"] = "review"
    logger.warning("Moderation answer raised to review", extra={"reasons": reasons})
    return [f"recommended_action allow -> review: {reason}" for reason in reasons]


def _fusion_gate(passed: bool, reason: str) -> GateResult:
    return GateResult(
        name=FUSION_GATE,
        passed=passed,
        score=1.0 if passed else 0.0,
        threshold=1.0,
        reason=reason,
    )
