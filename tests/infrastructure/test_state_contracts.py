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


def test_each_lambda_state_is_defined_in_the_module_named_after_it(
    definition: dict[str, Any],
) -> None:
    # Given the states that invoke a pipeline function
    lambdas = {
        name
        for name, state in state_definitions(definition).items()
        if state["Type"] == "Task" and ":function:" in str(state.get("Resource", ""))
    }
    # The two bundle-file states are one function, run before and after the wait
    aliases = {"look-again-for-the-file-s-manifest": "find-the-file-s-manifest"}
    for name in lambdas:
        # Then its contract's input is defined in pipeline_contracts/states/<its name>.py
        module_name = aliases.get(slug(name), slug(name)).replace("-s-", "s_").replace("-", "_")
        module = importlib.import_module(f"pipeline_contracts.states.{module_name}")
        assert (
            CONTRACTS[name].input.__module__ == module.__name__
            or getattr(module, CONTRACTS[name].input.__name__, None) is CONTRACTS[name].input
        ), name
