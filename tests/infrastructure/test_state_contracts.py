"""Every state of the synthesized definition that does work has one contract, found by name.

A newcomer reads a state's name in the console and finds its input and output in
`pipeline_contracts/states/<the state's name>.py`; the registry is how the recorded-run tests
find them, so both must cover exactly the states that exist."""

from __future__ import annotations

import importlib
from typing import Any

from mmpipe.local.recorded_states import slug, state_definitions
from pipeline_contracts.states.registry import CONTRACTS

ROUTING = {"Choice", "Wait", "Succeed", "Fail", "Pass"}


def test_every_working_state_has_a_contract_and_every_contract_a_state(
    definition: dict[str, Any],
) -> None:
    # Given every state of the synthesized definition
    states = state_definitions(definition)
    working = {name for name, state in states.items() if state["Type"] not in ROUTING}

    # Then the registry lists exactly the states that take or give data
    assert sorted(working - set(CONTRACTS)) == [], "a state without a contract"
    assert sorted(set(CONTRACTS) - set(states)) == [], "a contract for a state that is gone"


def test_each_state_is_defined_in_the_module_named_after_it() -> None:
    for state, contract in CONTRACTS.items():
        # Given the module named after the state ("Find the file's manifest" ->
        # pipeline_contracts/states/find_the_files_manifest.py)
        name = slug(state).replace("-s-", "s_").replace("-", "_")
        module = importlib.import_module(f"pipeline_contracts.states.{name}")

        # Then that module defines or names the state's input and output
        for shape in (contract.input, contract.output):
            if shape is not None:
                assert any(value is shape for value in vars(module).values()), (state, shape)
