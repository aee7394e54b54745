"""Every state's input and output, as a local run of the synthesized pipeline recorded them,
validates against the one contract `pipeline_contracts` defines for that state: the demo, the
hostile set, and the fault paths (a lost Transcribe event, an unsent announcement, a failed
step), so that together they pass through every state the registry lists."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pytest
from pydantic import ValidationError

from mmpipe.local.recorded_states import Recorded, recorded_run
from mmpipe.local.run.report import RunReport
from pipeline_contracts.states.registry import CONTRACTS
from tests.integration import hostile_set


def _violations(records: Iterable[Recorded]) -> tuple[set[str], list[str]]:
    """The states seen, and every record that breaks its state's contract (or has none)."""
    seen: set[str] = set()
    broken: list[str] = []
    for record in records:
        contract = CONTRACTS.get(record.state)
        if contract is None:
            broken.append(f"{record.state}: recorded, but no contract names it")
            continue
        seen.add(record.state)
        validate = (
            contract.validate_input if record.direction == "input" else contract.validate_output
        )
        try:
            validate(record.value)
        except ValidationError as error:
            broken.append(f"{record.execution} {record.state} {record.direction}: {error}")
    return seen, broken


def _records(report: RunReport) -> list[Recorded]:
    assert report.ok, [(o.input, o.error, o.cause) for o in report.unfinished]
    return list(recorded_run(report.out_dir, report.definition))


def test_every_state_of_the_demo_keeps_its_contract(run_local, demo: Path) -> None:
    # Given the demo run through the synthesized pipeline
    records = _records(run_local([demo]))

    # Then every recorded input and output validates against its state's contract
    seen, broken = _violations(records)
    assert not broken, "\n".join(broken[:20])
    # And the demo passed through the states of an item's whole processed path
    assert {
        "Check intake",
        "Transcribe audio",
        "Analyze with Bedrock",
        "Run alignment job",
        "Fuse modalities",
        "Write results",
        "Announce the result",
    } <= seen


@pytest.mark.slow
def test_every_state_the_registry_lists_is_recorded_and_keeps_its_contract(
    run_local, demo: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # Given the hostile set, and the demo under faults that take the other paths
    hostile = tmp_path_factory.mktemp("hostile") / "ingest"
    hostile_set.build(hostile, demo, tmp_path_factory.mktemp("scratch"))
    records = _records(run_local([hostile], tree=True, timeout_s=600))
    speech, poster = demo / "speech.wav", demo / "poster.png"
    records += _records(run_local([speech], inject="transcribe-event-lost", callback_floor_s=5))
    records += _records(run_local([poster], inject="events-fail"))
    records += _records(run_local([poster], inject="lambda-raise=final_gate"))

    # Then every record keeps its contract
    seen, broken = _violations(records)
    assert not broken, "\n".join(broken[:20])
    # And together the runs passed through every state that has a contract
    assert sorted(set(CONTRACTS) - seen) == []
