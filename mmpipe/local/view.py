"""The console view of a local run: progress, each execution like the Step Functions console
(states, status, durations, branch by branch, the failed state and its error), and the table
of items by terminal place. The state tree it draws is rebuilt in state_tree."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console, Group
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.tree import Tree

from mmpipe.local.run.report import PLACES, ItemOutcome, ProgressSink, RunReport
from mmpipe.local.state_tree import StateRun, branch_labels, state_runs

_PLACE_STYLE = {
    "processed": "green",
    "degraded": "yellow",
    "quarantined": "magenta",
    "failed": "red",
}


def _cause_text(cause: str, limit: int = 160) -> str:
    try:
        parsed = json.loads(cause)
        if isinstance(parsed, dict):
            cause = str(parsed.get("errorMessage") or parsed.get("FailureReason") or cause)
    except (json.JSONDecodeError, TypeError):
        pass
    cause = " ".join(cause.split())
    return cause if len(cause) <= limit else cause[: limit - 1] + "…"


def _label(run: StateRun, done: bool) -> str:
    status = run.status(done)
    icon, style = {
        "succeeded": ("✔", "green"),
        "failed": ("✘", "red"),
        "caught": ("✘", "yellow"),
        "running": ("…", "cyan"),
    }.get(status.split(" ")[0] if status.startswith("succeeded") else status, ("✔", "green"))
    if status.startswith("succeeded after"):
        icon, style = "↻", "yellow"
    duration = f" {run.duration_s:.2f}s" if run.duration_s is not None else ""
    text = f"[{style}]{icon}[/] {run.name} [dim]({run.kind}){duration}[/]"
    if status != "succeeded":
        text += f" [{style}]{status}[/]"
    if run.failures:
        error, cause = run.failures[-1]
        text += f"\n   [red]{error}[/]: {_cause_text(cause)}"
    return text


def _add(tree: Tree, runs: list[StateRun], done: bool) -> None:
    groups: dict[str, Tree] = {}
    for run in runs:
        node = tree
        parent = run.parent
        if parent is not None and parent.kind == "Parallel" and run.branch:
            key = f"branch {run.branch}"
        elif parent is not None and parent.kind == "Map" and run.iteration is not None:
            key = f"iteration {run.iteration}"
        else:
            key = ""
        if key:
            if key not in groups:
                groups[key] = tree.add(f"[bold]{key}[/]")
            node = groups[key]
        child = node.add(_label(run, done))
        _add(child, run.children, done)


def execution_tree(outcome: ItemOutcome, definition: dict[str, Any]) -> Tree:
    style = _PLACE_STYLE.get(outcome.place or "", "red")
    duration = f" in {outcome.duration_s:.2f}s" if outcome.duration_s is not None else ""
    title = (
        f"[bold]{outcome.item_id or outcome.input}[/] [{style}]{outcome.status}[/]"
        f"{duration} → [{style}]{outcome.place or 'NOT TERMINAL'}[/]"
    )
    tree = Tree(title)
    done = outcome.status not in ("RUNNING", "NOT_STARTED")
    _add(tree, state_runs(outcome.history, branch_labels(definition)), done)
    if outcome.error and outcome.status != "SUCCEEDED":
        tree.add(f"[red]execution error {outcome.error}[/]: {_cause_text(outcome.cause or '')}")
    return tree


def _detail(outcome: ItemOutcome) -> str:
    if outcome.record_file is None:
        return _cause_text(outcome.cause or outcome.error or "", 100)
    record = json.loads(outcome.record_file.read_text())
    if outcome.place == "quarantined":
        reason = record.get("reason", {})
        return f"{reason.get('code')}: {reason.get('message', '')}"
    if outcome.place == "failed":
        failure = record.get("failure", {})
        return (
            f"{record.get('failed_state')}: {failure.get('error')} "
            f"{_cause_text(failure.get('cause', ''), 80)}"
        )
    degraded = record.get("degraded_branches") or []
    gates = record.get("gates") or []
    flagged = [g["name"] for g in gates if not g.get("passed")]
    parts = [", ".join(record.get("modalities", []))]
    if degraded:
        parts.append("degraded: " + ", ".join(degraded))
    if flagged:
        parts.append("flagged: " + ", ".join(flagged))
    return "; ".join(p for p in parts if p)


def places_table(report: RunReport) -> Group:
    counts = report.counts()
    summary = Table(title="Items by terminal place")
    summary.add_column("Place")
    summary.add_column("Items", justify="right")
    for place in PLACES:
        summary.add_row(f"[{_PLACE_STYLE[place]}]{place}[/]", str(counts[place]))
    not_terminal = len(report.unfinished)
    if not_terminal:
        summary.add_row("[red bold]not terminal[/]", str(not_terminal))
    summary.add_row(
        "[bold]total[/]", f"[bold]{sum(counts.values()) + not_terminal}[/]", end_section=True
    )
    reached = (
        f"{sum(counts.values())} of {len(report.outcomes)} inputs ended with exactly one record; "
        f"largest state {report.largest_state_bytes / 1024:.1f} KB of Step Functions' 256 KB"
    )
    if report.files_in_bundles:
        reached += f"\n{report.files_in_bundles} bundle files are accounted for by their bundle"
    for skipped in report.skipped:
        reached += f"\n[yellow]not uploaded: {skipped}[/]"
    items = Table(title="Items")
    items.add_column("Input", overflow="fold")
    items.add_column("Place")
    items.add_column("Detail", overflow="fold")
    for outcome in report.outcomes:
        shown = outcome.place or "not terminal"
        items.add_row(
            outcome.input, f"[{_PLACE_STYLE.get(shown, 'red')}]{shown}[/]", _detail(outcome)
        )
    return Group(items, summary, reached)


def refusals_table(report: RunReport) -> Table:
    """What IAM refused, once per principal, action and resource (details in
    access-denied.jsonl)."""
    table = Table(title="Refused by IAM (the synthesized roles, as AWS would refuse)")
    table.add_column("Principal", overflow="fold")
    table.add_column("Action", overflow="fold")
    table.add_column("Resource", overflow="fold")
    table.add_column("Times", justify="right")
    seen: dict[tuple[str, str, str], int] = {}
    for refusal in report.refusals:
        role = refusal.principal.split(":assumed-role/")[-1].split("/")[0]
        key = (role, refusal.permission.action, refusal.permission.resource or "*")
        seen[key] = seen.get(key, 0) + 1
    for (role, action, resource), times in seen.items():
        table.add_row(role, f"[red]{action}[/]", resource, str(times))
    return table


class ConsoleProgress(ProgressSink):
    """A progress bar over the items while executions run."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            TextColumn("[bold]items[/]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self._task: Any = None
        self._statuses: dict[str, int] = {}

    def started(self, total: int) -> None:
        self._progress.start()
        self._task = self._progress.add_task("", total=total)

    def finished(self, outcome: ItemOutcome) -> None:
        self._statuses[outcome.status] = self._statuses.get(outcome.status, 0) + 1
        description = " ".join(f"{k.lower()}={v}" for k, v in sorted(self._statuses.items()))
        self._progress.update(self._task, advance=1, description=description)

    def stop(self) -> None:
        self._progress.stop()
