"""Recorded state inputs and outputs (tests/events/, kept from local runs of the demo and of
fault paths by `python -m mmpipe.local.recorded_states OUT tests/events`) against the
contracts: a contract change that would refuse what the pipeline really sends fails here,
in seconds, before any local run. Refresh the fixtures after a deliberate contract change."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from pipeline_contracts.states.registry import CONTRACTS

EVENTS = Path(__file__).resolve().parents[1] / "events"


def load_event(path: Path) -> dict[str, Any]:
    """One fixture: the state's name, which side of it, and the recorded value."""
    document: dict[str, Any] = json.loads(path.read_text())
    return document


FIXTURES = sorted(EVENTS.glob("*.json"))


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_a_recorded_event_validates_against_its_state_contract(path: Path) -> None:
    # Given a state's recorded input or output
    event = load_event(path)
    contract = CONTRACTS[event["state"]]

    # Then it validates against that state's contract
    if event["direction"] == "input":
        contract.validate_input(event["value"])
    else:
        contract.validate_output(event["value"])


def test_every_state_with_a_contract_has_a_recorded_fixture() -> None:
    # Given the fixtures kept from the local runs
    recorded = {(load_event(p)["state"], load_event(p)["direction"]) for p in FIXTURES}

    # Then every side of every state that has a contract is represented
    wanted = {
        (state, direction)
        for state, contract in CONTRACTS.items()
        for direction, model in (("input", contract.input), ("output", contract.output))
        if model is not None
    }
    assert sorted(wanted - recorded) == []


@pytest.mark.parametrize(
    ("fixture", "change"),
    [
        ("check-intake.output.json", lambda v: v.pop("plan_uri")),
        ("fuse-modalities.input.json", lambda v: v["branches"][0].update(status="done")),
        ("write-results.output.json", lambda v: v["event"].update(extra=1)),
    ],
    ids=["summary-without-plan-uri", "unknown-branch-status", "unknown-event-field"],
)
def test_a_changed_shape_is_refused(fixture: str, change: Any) -> None:
    # Given a recorded event, changed as a careless edit of a step might change it
    event = load_event(EVENTS / fixture)
    change(event["value"])

    # Then its contract refuses it
    contract = CONTRACTS[event["state"]]
    validate = (
        contract.validate_input if event["direction"] == "input" else contract.validate_output
    )
    with pytest.raises(ValidationError):
        validate(event["value"])
