"""Fusion's first step: judge what each parallel branch returned, and read its result bodies
once (fusion's prompt and the merged timeline both use them).

A branch ends succeeded; flagged when a gate failed or some of its assets failed (each listed
with its cause); failed with its error and cause, also when every one of its assets failed;
or skipped. A failed branch, or one with failed assets, degrades the item.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import ValidationError

from pipeline.adapters.storage import ObjectMissing, ObjectStore, read_json
from pipeline.domain.records import failure_from_error
from pipeline.domain.text_tools import clip
from pipeline.observability import logger
from pipeline_contracts.outcomes import (
    AssetFailure,
    AssetResult,
    BranchVerdict,
    GateResult,
    StepFailure,
)
from pipeline_contracts.records import CaughtError
from pipeline_contracts.states.check_alignment_quality import AlignmentChecked
from pipeline_contracts.states.process_modalities import (
    AlignmentBranchDone,
    BranchFailed,
    BranchOutput,
    BranchSkipped,
)
from pipeline_contracts.vocabulary import BranchName
from pipeline_contracts.work.alignment import AlignmentResult, TimelineEntry
from pipeline_contracts.work.transcript import Transcript
from pipeline_contracts.work.vision import VisionResult

READABLE_GATE = "branch_result_readable"
# An asset's failure in the record: the message, not the stack trace (50 assets can fail).
MAX_ASSET_CAUSE_CHARS = 2_000
MAX_TIMELINE_ENTRIES = 5_000
MAX_TIMELINE_TEXT = 500


@dataclass
class BranchBodies:
    """The result bodies the branches wrote, read once."""

    transcripts: list[Transcript] = field(default_factory=list)
    vision: list[VisionResult] = field(default_factory=list)
    alignment: AlignmentResult | None = None

    @property
    def has_content(self) -> bool:
        return bool(
            any(t.text.strip() for t in self.transcripts)
            or any(v.analysis is not None for v in self.vision)
            or self.alignment is not None
        )


def judge_branches(
    branches: list[BranchOutput], store: ObjectStore
) -> tuple[list[BranchVerdict], BranchBodies]:
    bodies = BranchBodies()
    return [_verdict(branch, store, bodies) for branch in branches], bodies


def _verdict(branch: BranchOutput, store: ObjectStore, bodies: BranchBodies) -> BranchVerdict:
    if isinstance(branch, BranchSkipped):
        return BranchVerdict(branch=branch.branch, status="skipped")
    if isinstance(branch, BranchFailed):
        return BranchVerdict(branch=branch.branch, status="failed", failure=branch.failure)
    entries: list[AssetResult | AlignmentChecked]
    failed_assets: list[AssetFailure] = []
    if isinstance(branch, AlignmentBranchDone):
        entries = [branch.results]
    else:
        entries = [entry for entry in branch.results if isinstance(entry, AssetResult)]
        failed_assets = [
            _clipped(entry) for entry in branch.results if isinstance(entry, AssetFailure)
        ]
    if failed_assets and not entries:
        return BranchVerdict(
            branch=branch.branch,
            status="failed",
            failure=_every_asset_failed(failed_assets),
            failed_assets=failed_assets,
        )
    gates = [gate for entry in entries for gate in entry.gates]
    for entry in entries:
        problem = read_body(branch.branch, entry.result_uri, store, bodies)
        if problem:
            gates.append(GateResult(name=READABLE_GATE, passed=False, reason=problem))
    flagged = failed_assets or any(not gate.passed for gate in gates)
    return BranchVerdict(
        branch=branch.branch,
        status="flagged" if flagged else "succeeded",
        gates=gates,
        result_uris=[entry.result_uri for entry in entries],
        failed_assets=failed_assets,
    )


def read_bodies(verdicts: list[BranchVerdict], store: ObjectStore) -> BranchBodies:
    """The bodies of judged branches, by the branch each came from (the result writer's
    read; one fusion found unreadable is flagged by its gate and left out)."""
    bodies = BranchBodies()
    for verdict in verdicts:
        for uri in verdict.result_uris:
            read_body(verdict.branch, uri, store, bodies)
    return bodies


def _clipped(failure: AssetFailure) -> AssetFailure:
    # A Lambda's cause is a JSON envelope with a stack trace; the record keeps its message.
    step = failure_from_error(CaughtError(Error=failure.error, Cause=failure.cause))
    return AssetFailure(
        asset_id=failure.asset_id, error=step.error, cause=clip(step.cause, MAX_ASSET_CAUSE_CHARS)
    )


def _every_asset_failed(failed_assets: list[AssetFailure]) -> StepFailure:
    errors = sorted({failure.error for failure in failed_assets})
    causes = "; ".join(f"{failure.asset_id}: {failure.cause}" for failure in failed_assets)
    return StepFailure(
        error=errors[0] if len(errors) == 1 else "AssetsFailed",
        cause=clip(
            f"Every asset of the branch failed ({len(failed_assets)}): {causes}",
            MAX_ASSET_CAUSE_CHARS,
        ),
    )


def read_body(branch: BranchName, uri: str, store: ObjectStore, bodies: BranchBodies) -> str | None:
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


def merged_timeline(bodies: BranchBodies) -> list[TimelineEntry]:
    """The alignment timeline plus transcript segments, by start time, bounded."""
    entries: list[TimelineEntry] = list(bodies.alignment.timeline) if bodies.alignment else []
    entries += [
        TimelineEntry(
            start_s=segment.start_s,
            end_s=segment.end_s,
            kind="segment",
            text=segment.text[:MAX_TIMELINE_TEXT],
            asset_id=transcript.asset_id,
            speaker=segment.speaker or None,
        )
        for transcript in bodies.transcripts
        for segment in transcript.segments
    ]
    entries.sort(key=lambda entry: entry.start_s)
    return entries[:MAX_TIMELINE_ENTRIES]
