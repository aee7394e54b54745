"""Fusion's prompt: the task per profile, and one bounded context built from the branches.

Our own facts (branch states, gate names) are written in the clear; everything read from
files (paths, transcripts, model output about the files) goes inside the DataFence as data.
Budgets are in characters (about four per token): the whole prompt stays well inside every
routed model's context window, whatever the media's length.
"""

from __future__ import annotations

import json
from typing import Any

from pipeline.domain.branch_verdicts import BranchBodies
from pipeline.domain.data_fence import DataFence
from pipeline.domain.text_tools import clip
from pipeline_contracts.item import ItemPlan
from pipeline_contracts.outcomes import BranchVerdict
from pipeline_contracts.vocabulary import Profile
from pipeline_contracts.work.transcript import Transcript

MAX_ASSETS_CHARS = 3_000
MAX_TRANSCRIPT_CHARS = 16_000
MAX_VISION_CHARS = 12_000
MAX_ALIGNMENT_CHARS = 4_000

SYSTEM_PROMPT = (
    "You reason across the modalities of one item (text, images, audio transcripts, "
    "video, alignment metrics) and write one consistent record for it. Prefer what "
    "several modalities confirm; say in consistency where they disagree. Do not invent "
    "facts that no modality supports. Branches that failed or were flagged are listed; "
    "do not guess their content."
)

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


def _compact(document: Any) -> str:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"), default=str)


def fusion_context(
    plan: ItemPlan, verdicts: list[BranchVerdict], bodies: BranchBodies, fence: DataFence
) -> str:
    """One bounded prompt: our own facts in the clear, everything from files as data."""
    sections = [f"Item profile: {plan.profile}. Branch outcomes:"]
    for outcome in verdicts:
        line = f"- {outcome.branch}: {outcome.status}"
        if outcome.failure is not None:
            line += f" ({clip(outcome.failure.error, 100)})"
        elif outcome.failed_assets:
            ids = ", ".join(failure.asset_id for failure in outcome.failed_assets)
            line += f"; assets not analysed: {clip(ids, 200)}"
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
    sections.append(fence.wrap("assets", clip(_compact(assets), MAX_ASSETS_CHARS)))
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
            if result.quality is not None:
                q = result.quality
                sections.append(
                    f"Measured quality of {result.asset_id}: {q.width}x{q.height} pixels, "
                    f"sharpness (variance of the Laplacian) {q.sharpness:.1f}."
                )
            sections.append(f"Vision analysis of {result.asset_id} (model output about the file):")
            sections.append(
                fence.wrap(
                    f"vision {result.asset_id}",
                    clip(_compact(result.analysis.model_dump()), share),
                )
            )
    if bodies.alignment is not None:
        alignment = bodies.alignment
        scenes = [entry for entry in alignment.timeline if entry.kind == "scene"][:40]
        summary = {
            "score": alignment.score,
            "offset_s": alignment.offset_s,
            "drift": alignment.drift,
            "metrics": alignment.metrics.model_dump(mode="json"),
            "scenes": [scene.model_dump(mode="json", exclude_none=True) for scene in scenes],
        }
        sections.append("Alignment and media quality (measured):")
        sections.append(fence.wrap("alignment", clip(_compact(summary), MAX_ALIGNMENT_CHARS)))
    sections.append("Answer in the form the system prompt asks for, and only that.")
    return "\n\n".join(sections)


def _timed_text(transcript: Transcript, limit: int) -> str:
    if not transcript.segments:
        return clip(transcript.text, limit)
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
