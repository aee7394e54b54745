"""Each state's input and output, as a local run's execution histories recorded them.

A Lambda task's input is the payload it was invoked with and its output the function's
answer; a service task's input is the message it sent (the Transcribe start payload, the
EventBridge detail, the SQS body); a Map's input is each iteration's, a Parallel's the state
its branches start from; and a Map, Parallel or SageMaker task's output is its result as it
landed in the state (after ResultSelector, at ResultPath). The contract tests validate
every one against `pipeline_contracts.states.registry`; `python -m mmpipe.local.recorded_states
OUT_DIR TARGET` keeps one input and one output per state as event fixtures.

    python -m mmpipe.local.recorded_states local-out tests/events
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

Direction = Literal["input", "output"]


@dataclass(frozen=True)
class Recorded:
    state: str
    direction: Direction
    value: Any
    execution: str


def state_definitions(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every state of the definition by name, nested ones included (names are unique)."""
    found: dict[str, dict[str, Any]] = {}

    def walk(states: dict[str, Any]) -> None:
        for name, state in states.items():
            found[name] = state
            for branch in state.get("Branches", []):
                walk(branch["States"])
            processor = state.get("ItemProcessor") or state.get("Iterator")
            if processor:
                walk(processor["States"])

    walk(definition["States"])
    return found


def owning_state(event: dict[str, Any], by_id: dict[int, dict[str, Any]]) -> str | None:
    """The state an event belongs to: the nearest StateEntered up its `previousEventId`
    chain (branches of a Parallel or Map interleave their events), or None."""
    current: dict[str, Any] | None = event
    while current is not None:
        if str(current.get("type", "")).endswith("StateEntered"):
            return str(current["stateEnteredEventDetails"]["name"])
        current = by_id.get(int(current.get("previousEventId") or 0))
    return None


def recorded_states(
    history: list[dict[str, Any]], definition: dict[str, Any], execution: str = ""
) -> Iterator[Recorded]:
    states = state_definitions(definition)
    by_id = {event["id"]: event for event in history}
    map_starts: dict[str, str] = {
        str((state.get("ItemProcessor") or state["Iterator"])["StartAt"]): name
        for name, state in states.items()
        if state["Type"] == "Map"
    }

    def owner(event: dict[str, Any]) -> str:
        name = owning_state(event, by_id)
        if name is None:
            raise ValueError(f"event {event['id']} belongs to no state")
        return name

    for event in history:
        kind = event["type"]
        if kind == "LambdaFunctionScheduled":
            details = event["lambdaFunctionScheduledEventDetails"]
            yield Recorded(owner(event), "input", json.loads(details["input"]), execution)
        elif kind == "LambdaFunctionSucceeded":
            details = event["lambdaFunctionSucceededEventDetails"]
            yield Recorded(owner(event), "output", json.loads(details["output"]), execution)
        elif kind == "TaskScheduled":
            parameters = json.loads(event["taskScheduledEventDetails"]["parameters"])
            sent = _message(parameters)
            if sent is not None:
                yield Recorded(owner(event), "input", sent, execution)
        elif kind == "TaskSucceeded":
            details = event["taskSucceededEventDetails"]
            if details["resourceType"] == "lambda":  # the task token's answer
                yield Recorded(owner(event), "output", json.loads(details["output"]), execution)
        elif kind.endswith("StateEntered"):
            details = event["stateEnteredEventDetails"]
            if details["name"] in map_starts:  # an iteration's input: the Map's, per item
                value = json.loads(details["input"])
                yield Recorded(map_starts[details["name"]], "input", value, execution)
            elif states.get(details["name"], {}).get("Type") == "Parallel":
                value = json.loads(details["input"])
                yield Recorded(details["name"], "input", value, execution)
        elif kind.endswith("StateExited"):
            details = event["stateExitedEventDetails"]
            state = states.get(details["name"], {})
            placed = state["Type"] in ("Map", "Parallel") or "sagemaker" in state.get(
                "Resource", ""
            )
            if placed and "ResultPath" in state:
                value = _at(json.loads(details["output"]), state["ResultPath"])
                yield Recorded(details["name"], "output", value, execution)


def _message(parameters: dict[str, Any]) -> Any:
    if "Payload" in parameters:  # lambda:invoke(.waitForTaskToken)
        return parameters["Payload"]
    if "MessageBody" in parameters:  # sqs:sendMessage
        return parameters["MessageBody"]
    if "Entries" in parameters:  # events:putEvents
        detail = parameters["Entries"][0]["Detail"]
        return json.loads(detail) if isinstance(detail, str) else detail
    return None  # a service's own request (SageMaker): AWS owns its shape


def _at(document: Any, path: str) -> Any:
    for part in path.removeprefix("$").strip(".").split("."):
        if part:
            document = document[part]
    return document


def recorded_run(out_dir: Path, definition: dict[str, Any]) -> Iterator[Recorded]:
    """Every state's input and output in a local run's `executions/`."""
    for path in sorted((out_dir / "executions").glob("*.json")):
        document = json.loads(path.read_text())
        yield from recorded_states(document["events"], definition, path.stem)


def slug(state: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", state.lower()).strip("-")


def keep_fixtures(out_dir: Path, definition: dict[str, Any], target: Path) -> list[Path]:
    """One recorded input and output per state (the first seen), as `<state>.<dir>.json`."""
    target.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    seen: set[tuple[str, str]] = set()
    for record in recorded_run(out_dir, definition):
        if (record.state, record.direction) in seen:
            continue
        seen.add((record.state, record.direction))
        path = target / f"{slug(record.state)}.{record.direction}.json"
        body = {"state": record.state, "direction": record.direction, "value": record.value}
        path.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n")
        written.append(path)
    return written


def main(argv: list[str]) -> int:
    from mmpipe.local.synth import synthesized  # noqa: PLC0415
    from mmpipe.local.template import synthesized_definition  # noqa: PLC0415

    out_dir, target = Path(argv[0]), Path(argv[1])
    cdk_out, _ = synthesized()
    for path in keep_fixtures(out_dir, synthesized_definition(cdk_out), target):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
