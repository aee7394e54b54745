"""What an execution used, read from its own history: state transitions, Lambda runs, the
alignment job. The result writer reads its execution's history while it runs, so everything
before it is there, and its own invocation so far.

- Transitions: every state entered (Map iterations' states included) plus every retry (a
  task scheduled again within one state entry), as Step Functions bills them.
- Lambda runs: LambdaFunctionStarted -> Succeeded/Failed/TimedOut for Lambda task states;
  for `lambda:invoke` tasks TaskStarted -> TaskSucceeded/Failed, and for
  `lambda:invoke.waitForTaskToken` TaskStarted -> TaskSubmitted (the function returned; the
  wait for the token after it is not Lambda time). Each run is attributed to the state that
  scheduled it, whose function's memory the stack passes in.
- Processing jobs (`sagemaker:createProcessingJob.sync`): instance type and count from the
  task's parameters; billed seconds from ProcessingStartTime/ProcessingEndTime in the
  description the task ended with, or, when the description has no times, the task's own
  start and end (an estimate that includes the instance's start-up).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

_LAMBDA_ENDS = {"LambdaFunctionSucceeded", "LambdaFunctionFailed", "LambdaFunctionTimedOut"}
_TASK_ENDS = {"TaskSucceeded", "TaskFailed", "TaskTimedOut", "TaskAborted"}
_SCHEDULED = {"LambdaFunctionScheduled", "TaskScheduled"}


@dataclass(frozen=True)
class LambdaRun:
    state: str
    seconds: float
    # The invocation had not ended when the history was read (the writer's own).
    running: bool = False


@dataclass(frozen=True)
class JobRun:
    name: str
    instance_type: str
    instance_count: int
    seconds: float
    # From the job's own ProcessingStartTime/EndTime; False: the task's start and end.
    measured: bool


@dataclass(frozen=True)
class ExecutionUsage:
    transitions: int
    retries: int
    lambda_runs: list[LambdaRun]
    jobs: list[JobRun]
    # The events' size: what the state machine's log (level ALL, with data) ingests.
    history_bytes: int


def execution_usage(events: list[dict[str, Any]], now: datetime) -> ExecutionUsage:
    history = _History(events)
    entered = [e for e in events if str(e.get("type", "")).endswith("StateEntered")]
    scheduled_per_entry: dict[int, int] = defaultdict(int)
    for event in events:
        if event.get("type") in _SCHEDULED:
            entry = history.entry_of(event)
            if entry is not None:
                scheduled_per_entry[entry["id"]] += 1
    retries = sum(max(0, count - 1) for count in scheduled_per_entry.values())
    return ExecutionUsage(
        transitions=len(entered) + retries,
        retries=retries,
        lambda_runs=list(history.lambda_runs(now)),
        jobs=list(history.jobs()),
        history_bytes=sum(len(json.dumps(e, default=str)) for e in events),
    )


class _History:
    def __init__(self, events: list[dict[str, Any]]) -> None:
        self._events = events
        self._by_id = {e["id"]: e for e in events if "id" in e}
        self._after: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for event in events:
            self._after[int(event.get("previousEventId") or 0)].append(event)

    def entry_of(self, event: dict[str, Any]) -> dict[str, Any] | None:
        """The state entry this event belongs to (previousEventId leads back to it)."""
        seen: set[int] = set()
        current: dict[str, Any] | None = event
        while current is not None and current["id"] not in seen:
            if str(current.get("type", "")).endswith("StateEntered"):
                return current
            seen.add(current["id"])
            current = self._by_id.get(current.get("previousEventId") or 0)
        return None

    def state_of(self, event: dict[str, Any]) -> str:
        entry = self.entry_of(event)
        return str(entry["stateEnteredEventDetails"]["name"]) if entry else "?"

    def _next(self, event: dict[str, Any], types: set[str]) -> dict[str, Any] | None:
        return next((e for e in self._after[event["id"]] if e.get("type") in types), None)

    def _end_of(self, started: dict[str, Any]) -> dict[str, Any] | None:
        """The task's end, walking forward from its start (a Submitted may come between)."""
        current: dict[str, Any] | None = started
        for _ in range(4):
            if current is None:
                return None
            following = self._next(current, _TASK_ENDS | {"TaskSubmitted"})
            if following is None or following.get("type") in _TASK_ENDS:
                return following
            current = following
        return None

    def lambda_runs(self, now: datetime) -> Iterable[LambdaRun]:
        for event in self._events:
            kind = event.get("type")
            if kind == "LambdaFunctionStarted":
                end = self._next(event, _LAMBDA_ENDS)
            elif kind == "TaskStarted" and _details(event).get("resourceType") == "lambda":
                if str(_details(event).get("resource", "")).endswith(".waitForTaskToken"):
                    end = self._next(event, {"TaskSubmitted", *_TASK_ENDS})
                else:
                    end = self._next(event, _TASK_ENDS)
            else:
                continue
            begin = timestamp(event["timestamp"])
            state = self.state_of(event)
            if end is None:
                yield LambdaRun(state, max(0.0, (now - begin).total_seconds()), running=True)
            else:
                yield LambdaRun(
                    state, max(0.0, (timestamp(end["timestamp"]) - begin).total_seconds())
                )

    def jobs(self) -> Iterable[JobRun]:
        for event in self._events:
            details = _details(event)
            if event.get("type") != "TaskScheduled" or details.get("resourceType") != "sagemaker":
                continue
            if not str(details.get("resource", "")).startswith("createProcessingJob"):
                continue
            parameters = _json(details.get("parameters"))
            cluster = parameters.get("ProcessingResources", {}).get("ClusterConfig", {})
            started = self._next(event, {"TaskStarted"})
            end = self._end_of(started) if started else None
            if started is None or end is None:
                continue
            description = _json(_details(end).get("output") or _details(end).get("cause"))
            begin, finish = (
                description.get("ProcessingStartTime"),
                description.get("ProcessingEndTime"),
            )
            measured = begin is not None and finish is not None
            if measured:
                seconds = (timestamp(finish) - timestamp(begin)).total_seconds()
            else:
                seconds = (
                    timestamp(end["timestamp"]) - timestamp(started["timestamp"])
                ).total_seconds()
            yield JobRun(
                name=str(parameters.get("ProcessingJobName", "")),
                instance_type=str(cluster.get("InstanceType", "")),
                instance_count=int(cluster.get("InstanceCount", 1)),
                seconds=max(0.0, seconds),
                measured=measured,
            )


def _details(event: dict[str, Any]) -> dict[str, Any]:
    for name, value in event.items():
        if name.endswith("EventDetails") and isinstance(value, dict):
            return value
    return {}


def _json(text: Any) -> dict[str, Any]:
    if isinstance(text, dict):
        return text
    try:
        parsed = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def timestamp(value: Any) -> datetime:
    """A history or API time: a datetime (boto3), an ISO string, or epoch seconds or
    milliseconds (Step Functions renders a service's times in task output as epoch ms)."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, int | float):
        moment = datetime.fromtimestamp(value / 1000 if value > 1e11 else value, UTC)
    else:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
