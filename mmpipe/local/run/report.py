"""What a local run reports: each input's outcome, the run's report and its summary.json.

Shared by the orchestrator, the pump (progress), the collector and the console view, so it
depends on none of them.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mmpipe.local.iam.refusals import Refusal

ProviderChoice = Literal["local", "stub"]
Place = Literal["processed", "degraded", "quarantined", "failed"]
PLACES: tuple[Place, ...] = ("processed", "degraded", "quarantined", "failed")


@dataclass
class ItemOutcome:
    input: str
    key: str
    item_id: str | None = None
    execution_arn: str | None = None
    status: str = "NOT_STARTED"
    place: Place | None = None
    record_file: Path | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    cause: str | None = None
    duration_s: float | None = None
    # A bundle file (not an input): it either ends in its bundle, or with its own record.
    bundle_file: bool = False
    in_bundle: bool = False


@dataclass
class RunReport:
    outcomes: list[ItemOutcome]
    out_dir: Path
    elapsed_s: float
    time_scale: float
    providers: ProviderChoice
    faults: str
    synth_cached: bool
    definition: dict[str, Any]
    iam: bool = True
    cdk_out: Path | None = None
    refusals: list[Refusal] = field(default_factory=list)
    unmapped_operations: list[str] = field(default_factory=list)
    # The largest state or task result any execution carried (Step Functions refuses 256 KB).
    largest_state_bytes: int = 0
    # Bundle files their bundle's record accounts for (the others are in `outcomes`).
    files_in_bundles: int = 0
    skipped: list[str] = field(default_factory=list)
    # Calls the stand-ins refused past an emulated quota, per service (mmpipe/local/quotas.py).
    quota_refusals: dict[str, int] = field(default_factory=dict)
    # The search index carried over from the folder's previous run, and what was saved.
    search: dict[str, object] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = dict.fromkeys(PLACES, 0)
        for outcome in self.outcomes:
            if outcome.place:
                counts[outcome.place] += 1
        return counts

    @property
    def unfinished(self) -> list[ItemOutcome]:
        return [o for o in self.outcomes if o.place is None]

    @property
    def ok(self) -> bool:
        return not self.unfinished and sum(self.counts().values()) == len(self.outcomes)


class ProgressSink:
    """What the runner tells the console: overridden by the rich view; silent by default."""

    def started(self, total: int) -> None: ...

    def finished(self, outcome: ItemOutcome) -> None: ...


def write_summary(report: RunReport) -> None:
    summary = {
        "inputs": len(report.outcomes),
        "counts": report.counts(),
        "all_terminal": report.ok,
        "elapsed_s": round(report.elapsed_s, 3),
        "time_scale": report.time_scale,
        "providers": report.providers,
        "faults": report.faults,
        "cdk_out": str(report.cdk_out),
        "iam": "enforced" if report.iam else "off",
        "largest_state_bytes": report.largest_state_bytes,
        "quota_refusals": report.quota_refusals,
        "search": report.search,
        "access_denied": [
            {
                "principal": r.principal,
                "action": r.permission.action,
                "resource": r.permission.resource,
                "operation": r.operation,
                "decision": r.decision.name,
            }
            for r in report.refusals
        ],
        "items": [
            {
                "input": o.input,
                "item_id": o.item_id,
                "place": o.place,
                "status": o.status,
                "record": str(o.record_file) if o.record_file else None,
                "error": o.error,
                "cause": (o.cause or "")[:500] or None,
            }
            for o in report.outcomes
        ],
    }
    buffer = io.StringIO()
    json.dump(summary, buffer, indent=2, default=str)
    (report.out_dir / "summary.json").write_text(buffer.getvalue())
