"""Fusion: merge the branch results into one record, and ask one model to reason across them.

1. Each branch output becomes a `BranchOutcome` (succeeded; flagged when a gate failed or
   some of its assets failed, each listed with its cause; failed with its error and cause,
   also when every one of its assets failed; or skipped). A failed branch, or one with
   failed assets, degrades the item.
2. The result bodies (transcripts, vision results, the alignment summary) are read and
   condensed into one bounded context; everything derived from files is untrusted data.
3. One Converse call (`config.models.fusion`) answers for the item's profile, validated
   against a profile-specific schema with one repair attempt. Still invalid, or nothing to
   fuse -> `fused=None` and the fusion gate fails; the item still continues. A moderation
   answer of "allow" becomes "review" when an analysis found safety concerns or text aimed
   at the model (`moderation_overrides`); `fused.overrides` says why.
4. The `FusionDraft` is written to `{work_prefix}fusion.json`.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipeline.adapters.model import ModelClient, ModelRequest, TextBlock
from pipeline.adapters.storage import ObjectMissing, ObjectStore, put_json, read_json
from pipeline.config import PipelineConfig
from pipeline.domain.plans import load_plan
from pipeline.domain.records import failure_from_error
from pipeline.domain.structured_output import (
    Answer,
    DataFence,
    answer_instructions,
    answer_shape,
    validate_reply,
)
from pipeline.domain.thresholds import record_gate_outcomes
from pipeline.models.branches import (
    AlignmentResult,
    AssetFailure,
    BranchFailure,
    BranchOutcome,
    GateResult,
    Transcript,
    VisionResult,
)
from pipeline.models.item import ItemPlan, PlanSummary
from pipeline.models.manifest import Profile
from pipeline.models.results import FusedOutput, FusionDraft
from pipeline.observability import logger

FUSION_GATE = "fusion_output"
READABLE_GATE = "branch_result_readable"
# Context budgets, in characters (about four per token): the whole prompt stays well
# inside every routed model's context window, whatever the media's length.
MAX_ASSETS_CHARS = 3_000
MAX_TRANSCRIPT_CHARS = 16_000
MAX_VISION_CHARS = 12_000
MAX_ALIGNMENT_CHARS = 4_000
MAX_FAILURE_CAUSE_CHARS = 300
MAX_OVERRIDE_CHARS = 400
# An asset's failure in the record: the message, not the stack trace (50 assets can fail).
MAX_ASSET_CAUSE_CHARS = 2_000
MAX_TIMELINE_ENTRIES = 5_000
MAX_TIMELINE_TEXT = 500
BranchName = Literal["audio", "vision", "alignment"]


# --------------------------------------------------------------------------- input


class _Input(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class AssetBranchResult(_Input):
    asset_id: str
    result_uri: str
    gates: list[GateResult] = Field(default_factory=list)


class AlignmentBranchResult(_Input):
    result_uri: str
    gates: list[GateResult] = Field(default_factory=list)


class BranchFailureIn(_Input):
    error: str | None = None
    cause: str | None = None


class AssetBranchFailure(_Input):
    """A Map iteration that failed (the ASL's "... asset failed"): the others went on."""

    asset_id: str
    failure: BranchFailureIn


class BranchOutput(_Input):
    """One element of the Parallel state's output (see the ASL's "... branch done/failed")."""

    branch: BranchName
    status: Literal["succeeded", "failed", "skipped"]
    failure: BranchFailureIn | None = None
    results: list[AssetBranchResult | AssetBranchFailure] | AlignmentBranchResult | None = None


class FusionRequest(_Input):
    """The state carries the plan's summary; the whole plan is read from its `plan_uri`."""

    plan: PlanSummary
    branches: list[BranchOutput]
    execution_arn: str | None = None


class FusionOutcome(BaseModel):
    """`$.fusion`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fusion_uri: str
    degraded_branches: list[str]
    status: Literal["processed", "degraded"]


# --------------------------------------------------------------------------- answers


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GeneralDetails(_Strict):
    topics: list[str] = Field(min_length=1)
    entities: list[str] = Field(default_factory=list)


class CatalogDetails(_Strict):
    product_name: str | None = None
    category: str | None = None
    brand: str | None = None
    colors: list[str] = Field(default_factory=list)
    materials: list[str] = Field(default_factory=list)
    attributes: dict[str, str] = Field(
        default_factory=dict, description="Other product attributes, name -> value."
    )
    listing_issues: list[str] = Field(
        default_factory=list, description="Where the photo and the description disagree, etc."
    )


class ModerationLabel(_Strict):
    label: str = Field(min_length=1)
    severity: Literal["none", "low", "medium", "high", "critical"]
    modality: Literal["image", "video", "audio", "text", "document", "cross-modal"] | None = None
    evidence: str = Field(min_length=1, description="What in the content supports the label.")


class ModerationDetails(_Strict):
    labels: list[ModerationLabel] = Field(default_factory=list)
    recommended_action: Literal["allow", "review", "block"]


class AccessibilityDetails(_Strict):
    alt_text: str = Field(min_length=1, max_length=600)
    long_description: str | None = None
    caption_notes: list[str] = Field(
        default_factory=list, description="Caption problems or sounds that need describing."
    )


class Chapter(_Strict):
    title: str = Field(min_length=1)
    start_s: float | None = Field(default=None, ge=0)
    summary: str | None = None


class EducationDetails(_Strict):
    chapters: list[Chapter] = Field(default_factory=list)
    key_concepts: list[str] = Field(min_length=1)
    level: str | None = None


class _Answer(_Strict):
    title: str = Field(min_length=1, max_length=300)
    summary: str = Field(min_length=1)
    key_points: list[str] = Field(default_factory=list)
    consistency: str | None = Field(
        default=None, description="Where the modalities agree or disagree."
    )


class GeneralAnswer(_Answer):
    details: GeneralDetails


class CatalogAnswer(_Answer):
    details: CatalogDetails


class ModerationAnswer(_Answer):
    details: ModerationDetails


class AccessibilityAnswer(_Answer):
    details: AccessibilityDetails


class EducationAnswer(_Answer):
    details: EducationDetails


ANSWERS: dict[Profile, type[_Answer]] = {
    "general": GeneralAnswer,
    "catalog": CatalogAnswer,
    "moderation": ModerationAnswer,
    "accessibility": AccessibilityAnswer,
    "education": EducationAnswer,
}

PROFILE_TASKS: dict[Profile, str] = {
    "general": "Summarise the item across all its modalities; details.topics lists its topics.",
    "catalog": "Write a product record: details holds the product attributes, and "
    "listing_issues where the photo, description or video disagree.",
    "moderation": "Review the item for policy: details.labels lists each concern with a "
    "severity and its evidence, and recommended_action is allow, review or block.",
    "accessibility": "Write alt text (concise, what a blind reader needs) and notes on the "
    "captions (missing sounds, sync or accuracy problems).",
    "education": "Structure the lesson: chapters with start times where the timeline allows, "
    "and the key concepts taught.",
}


# --------------------------------------------------------------------------- fusion


class _Bodies:
    def __init__(self) -> None:
        self.transcripts: list[Transcript] = []
        self.vision: list[VisionResult] = []
        self.alignment: AlignmentResult | None = None

    @property
    def has_content(self) -> bool:
        return bool(
            any(t.text.strip() for t in self.transcripts)
            or any(v.analysis is not None for v in self.vision)
            or self.alignment is not None
        )


def fuse_item(
    request: FusionRequest,
    store: ObjectStore,
    model: ModelClient,
    config: PipelineConfig,
    processed_bucket: str,
) -> FusionOutcome:
    plan = load_plan(store, request.plan.plan_uri)
    bodies = _Bodies()
    outcomes = [_outcome(branch, store, bodies) for branch in request.branches]
    degraded = sorted({o.branch for o in outcomes if o.status == "failed" or o.failed_assets})
    model_ids = sorted({v.model_id for v in bodies.vision})
    fused: FusedOutput | None = None
    if not bodies.has_content:
        fusion_gate = _fusion_gate(False, "No branch produced content to fuse.")
    else:
        fused, fusion_gate = _ask_model(plan, outcomes, bodies, model, config)
        model_ids = sorted({*model_ids, config.models.fusion})
    gates = [gate for outcome in outcomes for gate in outcome.gates] + [fusion_gate]
    draft = FusionDraft(
        item_id=plan.item_id,
        modalities=sorted({asset.modality for asset in plan.assets}),
        branches=outcomes,
        degraded_branches=degraded,
        fused=fused,
        fusion_gate=fusion_gate,
        gates=gates,
        timeline=merged_timeline(bodies),
        model_ids=model_ids,
    )
    uri = put_json(
        store, processed_bucket, f"{plan.work_prefix}fusion.json", draft.model_dump(mode="json")
    )
    # The gates evaluated here: readability of branch results, and the fused answer.
    record_gate_outcomes([*(g for g in gates if g.name == READABLE_GATE), fusion_gate])
    return FusionOutcome(
        fusion_uri=uri,
        degraded_branches=degraded,
        status="degraded" if degraded else "processed",
    )


def _outcome(branch: BranchOutput, store: ObjectStore, bodies: _Bodies) -> BranchOutcome:
    if branch.status == "skipped":
        return BranchOutcome(branch=branch.branch, status="skipped")
    if branch.status == "failed":
        failure = branch.failure or BranchFailureIn()
        return BranchOutcome(
            branch=branch.branch,
            status="failed",
            failure=BranchFailure(error=failure.error or "Unknown", cause=failure.cause or ""),
        )
    results = branch.results
    entries: list[AssetBranchResult | AlignmentBranchResult]
    failed_assets: list[AssetFailure] = []
    if results is None:
        entries = []
    elif isinstance(results, AlignmentBranchResult):
        entries = [results]
    else:
        entries = [entry for entry in results if isinstance(entry, AssetBranchResult)]
        failed_assets = [
            _asset_failure(entry) for entry in results if isinstance(entry, AssetBranchFailure)
        ]
    if failed_assets and not entries:
        return BranchOutcome(
            branch=branch.branch,
            status="failed",
            failure=_every_asset_failed(failed_assets),
            failed_assets=failed_assets,
        )
    gates = [gate for entry in entries for gate in entry.gates]
    for entry in entries:
        problem = _load_body(branch.branch, entry.result_uri, store, bodies)
        if problem:
            gates.append(GateResult(name=READABLE_GATE, passed=False, reason=problem))
    flagged = failed_assets or any(not gate.passed for gate in gates)
    return BranchOutcome(
        branch=branch.branch,
        status="flagged" if flagged else "succeeded",
        gates=gates,
        result_uris=[entry.result_uri for entry in entries],
        failed_assets=failed_assets,
    )


def _asset_failure(entry: AssetBranchFailure) -> AssetFailure:
    # A Lambda's cause is a JSON envelope with a stack trace; the record keeps its message.
    failure = failure_from_error(
        {"Error": entry.failure.error or "Unknown", "Cause": entry.failure.cause or ""}
    )
    return AssetFailure(
        asset_id=entry.asset_id,
        error=failure.error,
        cause=_clip(failure.cause, MAX_ASSET_CAUSE_CHARS),
    )


def _every_asset_failed(failed_assets: list[AssetFailure]) -> BranchFailure:
    errors = sorted({failure.error for failure in failed_assets})
    causes = "; ".join(f"{failure.asset_id}: {failure.cause}" for failure in failed_assets)
    return BranchFailure(
        error=errors[0] if len(errors) == 1 else "AssetsFailed",
        cause=_clip(
            f"Every asset of the branch failed ({len(failed_assets)}): {causes}",
            MAX_ASSET_CAUSE_CHARS,
        ),
    )


def _load_body(branch: BranchName, uri: str, store: ObjectStore, bodies: _Bodies) -> str | None:
    """Read one result body into `bodies`; a problem is returned as a sentence, not raised."""
    try:
        document = read_json(store, uri)
        if branch == "audio":
            bodies.transcripts.append(Transcript.model_validate(document))
        elif branch == "vision":
            bodies.vision.append(VisionResult.model_validate(document))
        else:
            bodies.alignment = AlignmentResult.model_validate(document)
    except (ObjectMissing, ValueError, ValidationError) as error:
        logger.warning(
            "Branch result unreadable",
            extra={"branch": branch, "uri": uri, "error": str(error)[:500]},
        )
        return f"The {branch} result at {uri} could not be read: {type(error).__name__}."
    return None


def _ask_model(
    plan: ItemPlan,
    outcomes: list[BranchOutcome],
    bodies: _Bodies,
    model: ModelClient,
    config: PipelineConfig,
) -> tuple[FusedOutput | None, GateResult]:
    answer_model = ANSWERS[plan.profile]
    task = f"fuse every modality of one item for the {plan.profile} profile, as JSON"
    fence = DataFence()
    system = "\n\n".join(
        (
            "You reason across the modalities of one item (text, images, audio transcripts, "
            "video, alignment metrics) and write one consistent record for it. Prefer what "
            "several modalities confirm; say in consistency where they disagree. Do not invent "
            "facts that no modality supports. Branches that failed or were flagged are listed; "
            "do not guess their content.",
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
            content=[TextBlock(text=fusion_context(plan, outcomes, bodies, fence))],
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
    fused = FusedOutput(
        profile=plan.profile,
        provider=final_reply.provider,
        model_id=final_reply.model_id,
        title=fields["title"],
        summary=fields["summary"],
        key_points=fields["key_points"],
        details=fields["details"],
        consistency=fields["consistency"],
        overrides=overrides,
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
        + _clip("; ".join(result.analysis.safety_concerns), MAX_OVERRIDE_CHARS)
        for result in vision
        if result.analysis is not None and result.analysis.safety_concerns
    ]
    reasons += [
        f"text aimed at the model in {result.asset_id}: "
        + _clip("; ".join(result.injection_signals), MAX_OVERRIDE_CHARS)
        for result in vision
        if result.injection_signals
    ]
    if context_signals:
        reasons.append(
            "text aimed at the model in the fusion prompt's data: "
            + _clip("; ".join(context_signals), MAX_OVERRIDE_CHARS)
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


# --------------------------------------------------------------------------- context


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(0, limit - 15)] + " ...[truncated]"


def _compact(document: Any) -> str:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"), default=str)


def fusion_context(
    plan: ItemPlan, outcomes: list[BranchOutcome], bodies: _Bodies, fence: DataFence
) -> str:
    """One bounded prompt: our own facts in the clear, everything from files as data."""
    sections = [f"Item profile: {plan.profile}. Branch outcomes:"]
    for outcome in outcomes:
        line = f"- {outcome.branch}: {outcome.status}"
        if outcome.failure is not None:
            line += f" ({_clip(outcome.failure.error, 100)})"
        elif outcome.failed_assets:
            ids = ", ".join(failure.asset_id for failure in outcome.failed_assets)
            line += f"; assets not analysed: {_clip(ids, 200)}"
        failed = sorted({gate.name for gate in outcome.gates if not gate.passed})
        if failed:
            line += f"; failed gates: {', '.join(failed)}"
        sections.append(line)
    assets = [
        {
            "asset_id": a.asset_id,
            "path": a.path,
            "modality": a.modality,
            "role": a.role,
            "relation": a.relation,
            "duration_s": a.duration_s,
            "width": a.width,
            "height": a.height,
        }
        for a in plan.assets
    ]
    sections.append("The item's assets:")
    sections.append(fence.wrap("assets", _clip(_compact(assets), MAX_ASSETS_CHARS)))
    if bodies.transcripts:
        share = MAX_TRANSCRIPT_CHARS // len(bodies.transcripts)
        for transcript in bodies.transcripts:
            sections.append(
                f"Transcript of {transcript.asset_id}: language {transcript.language}, "
                f"mean confidence {transcript.mean_confidence}, speakers "
                f"{len(transcript.speakers)}, duration {transcript.duration_s} s."
            )
            sections.append(
                fence.wrap(f"transcript {transcript.asset_id}", _timed_text(transcript, share))
            )
    if bodies.vision:
        share = MAX_VISION_CHARS // len(bodies.vision)
        for result in bodies.vision:
            if result.analysis is None:
                sections.append(f"Vision analysis of {result.asset_id}: invalid, not used.")
                continue
            sections.append(f"Vision analysis of {result.asset_id} (model output about the file):")
            sections.append(
                fence.wrap(
                    f"vision {result.asset_id}",
                    _clip(_compact(result.analysis.model_dump()), share),
                )
            )
    if bodies.alignment is not None:
        alignment = bodies.alignment
        scenes = [entry for entry in alignment.timeline if entry.get("kind") == "scene"][:40]
        summary = {
            "score": alignment.score,
            "offset_s": alignment.offset_s,
            "drift": alignment.drift,
            "metrics": alignment.metrics,
            "scenes": scenes,
        }
        sections.append("Alignment and media quality (measured):")
        sections.append(fence.wrap("alignment", _clip(_compact(summary), MAX_ALIGNMENT_CHARS)))
    sections.append("Answer in the form the system prompt asks for, and only that.")
    return "\n\n".join(sections)


def _timed_text(transcript: Transcript, limit: int) -> str:
    if not transcript.segments:
        return _clip(transcript.text, limit)
    lines: list[str] = []
    used = 0
    for segment in transcript.segments:
        speaker = f" {segment.speaker}" if segment.speaker else ""
        line = f"[{segment.start_s:.1f}s{speaker}] {segment.text.strip()}"
        if used + len(line) + 1 > limit:
            lines.append("...[truncated]")
            break
        lines.append(line)
        used += len(line) + 1
    return "\n".join(lines)


def merged_timeline(bodies: _Bodies) -> list[dict[str, Any]]:
    """The alignment timeline plus transcript segments, by start time, bounded."""
    entries: list[dict[str, Any]] = []
    if bodies.alignment is not None:
        entries.extend(dict(entry) for entry in bodies.alignment.timeline)
    for transcript in bodies.transcripts:
        for segment in transcript.segments:
            entry: dict[str, Any] = {
                "start_s": segment.start_s,
                "end_s": segment.end_s,
                "kind": "segment",
                "text": segment.text[:MAX_TIMELINE_TEXT],
                "asset_id": transcript.asset_id,
            }
            if segment.speaker:
                entry["speaker"] = segment.speaker
            entries.append(entry)

    def start(entry: dict[str, Any]) -> float:
        value = entry.get("start_s")
        return float(value) if isinstance(value, int | float) else float("inf")

    entries.sort(key=start)
    return entries[:MAX_TIMELINE_ENTRIES]
