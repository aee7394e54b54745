"""An execution's history rebuilt as the Step Functions console shows it: a tree of state runs
(entries into a state), with Parallel branches and Map iterations, attempts, failures and
durations. The data behind the console view (view), with no rendering in it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

_FAILURES = {
    "LambdaFunctionFailed",
    "TaskFailed",
    "LambdaFunctionTimedOut",
    "TaskTimedOut",
    "ExecutionFailed",
    "MapStateFailed",
    "ParallelStateFailed",
}
_SUCCESSES = {"LambdaFunctionSucceeded", "TaskSucceeded"}


@dataclass
class StateRun:
    """One entry into a state, with the events that belong to it."""

    name: str
    kind: str
    entered: datetime
    parent: StateRun | None = None
    exited: datetime | None = None
    branch: str | None = None
    iteration: int | None = None
    children: list[StateRun] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)
    attempts: int = 0
    last_result: str | None = None

    @property
    def duration_s(self) -> float | None:
        return (self.exited - self.entered).total_seconds() if self.exited else None

    def status(self, execution_done: bool) -> str:
        if self.kind == "Fail":
            return "failed"
        if self.failures and self.last_result == "failure":
            return "caught" if self.exited else "failed"
        if self.exited is None:
            return "failed" if execution_done else "running"
        if self.failures:
            return f"succeeded after {len(self.failures)} retries"
        return "succeeded"


def _timestamp(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def branch_labels(definition: dict[str, Any]) -> dict[str, str]:
    """State name -> the label of the Parallel branch it sits in (its `branch` field or StartAt)."""
    labels: dict[str, str] = {}

    def walk(states: dict[str, Any], label: str | None) -> None:
        for name, state in states.items():
            if label:
                labels[name] = label
            for branch in state.get("Branches", []):
                found = [
                    s.get("Result", s.get("Parameters", {})).get("branch")
                    for s in branch["States"].values()
                    if s.get("Type") == "Pass"
                    and isinstance(s.get("Result", s.get("Parameters")), dict)
                ]
                walk(branch["States"], label or next((f for f in found if f), branch["StartAt"]))
            processor = state.get("ItemProcessor") or state.get("Iterator")
            if processor:
                walk(processor["States"], label)

    walk(definition.get("States", {}), None)
    return labels


def state_runs(events: list[dict[str, Any]], labels: dict[str, str]) -> list[StateRun]:
    """Rebuild the state tree from the history, following previousEventId as the console does."""
    owner: dict[int, StateRun | None] = {}
    iteration_of: dict[int, int] = {}
    roots: list[StateRun] = []
    for event in events:
        kind, event_id, previous = event["type"], event["id"], event.get("previousEventId", 0)
        before = owner.get(previous)
        if kind.endswith("StateEntered"):
            details = event.get("stateEnteredEventDetails", {})
            run = StateRun(
                name=details.get("name", "?"),
                kind=kind[: -len("StateEntered")],
                entered=_timestamp(event["timestamp"]),
            )
            run.branch = labels.get(run.name)
            if before is not None and before.exited is None and before.kind in ("Parallel", "Map"):
                run.parent = before
                run.iteration = iteration_of.get(previous)
            elif before is not None:
                run.parent, run.iteration = before.parent, before.iteration
            (run.parent.children if run.parent else roots).append(run)
            owner[event_id] = run
            continue
        if kind.endswith("StateExited"):
            # The exit follows the last event inside (a branch's or iteration's last state):
            # it belongs to the nearest open run of that name.
            exited = event.get("stateExitedEventDetails", {}).get("name")
            before = _nearest(before, _open_run_named(exited))
        elif kind.startswith(("Map", "Parallel")):
            before = _nearest(before, lambda r: r.kind in ("Map", "Parallel") and r.exited is None)
        owner[event_id] = before
        if kind == "MapIterationStarted":
            iteration_of[event_id] = event["mapIterationStartedEventDetails"].get("index", 0)
        if before is None:
            continue
        if kind.endswith("StateExited"):
            before.exited = _timestamp(event["timestamp"])
        elif kind in ("LambdaFunctionScheduled", "TaskScheduled"):
            before.attempts += 1
        elif kind in _SUCCESSES:
            before.last_result = "success"
        elif kind in _FAILURES:
            failure: dict[str, Any] = next(
                (v for k, v in event.items() if k.endswith("EventDetails")), {}
            )
            before.failures.append((str(failure.get("error", kind)), str(failure.get("cause", ""))))
            before.last_result = "failure"
    return roots


def _open_run_named(name: str | None) -> Callable[[StateRun], bool]:
    def wanted(run: StateRun) -> bool:
        return run.name == name and run.exited is None

    return wanted


def _nearest(run: StateRun | None, wanted: Callable[[StateRun], bool]) -> StateRun | None:
    start = run
    while run is not None and not wanted(run):
        run = run.parent
    return run or start
