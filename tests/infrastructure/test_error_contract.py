"""The exception class names in pipeline/errors.py and the synthesized state machine's Retry
and Catch lists agree, in both directions: a name the ASL matches on is a class the Lambdas
raise, and each class is retried exactly where errors.py says (and nowhere else)."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

from pipeline import errors
from pipeline.config import CAPACITY_WAIT_S
from pipeline.errors import (
    CAPACITY_ERRORS,
    RETRIED_ON_THEIR_OWN_SCHEDULE,
    TRANSIENT_ERRORS,
    PipelineError,
)

# Names Step Functions and its integrations define, not this project.
SERVICE_PREFIXES = ("States.", "Lambda.", "SageMaker.")

PIPELINE_ERRORS = {
    name
    for name, cls in inspect.getmembers(errors, inspect.isclass)
    if issubclass(cls, PipelineError) and cls is not PipelineError
}


def _states(states: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, state in states.items():
        yield name, state
        for branch in state.get("Branches", []):
            yield from _states(branch["States"])
        if "ItemProcessor" in state:
            yield from _states(state["ItemProcessor"]["States"])


def _invokes_lambda(state: dict[str, Any]) -> bool:
    resource = str(state.get("Resource", ""))
    return state["Type"] == "Task" and (
        resource.startswith("arn:aws:lambda:")
        or resource.startswith("arn:aws:states:::lambda:invoke")
    )


def _lambda_tasks(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: state for name, state in _states(definition["States"]) if _invokes_lambda(state)}


def _retried(state: dict[str, Any]) -> set[str]:
    return {name for retry in state.get("Retry", []) for name in retry["ErrorEquals"]}


def test_every_error_name_the_asl_matches_is_a_pipeline_exception(definition) -> None:
    named = {
        name
        for _, state in _states(definition["States"])
        for rule in [*state.get("Retry", []), *state.get("Catch", [])]
        for name in rule["ErrorEquals"]
    }
    ours = {name for name in named if not name.startswith(SERVICE_PREFIXES)}
    assert ours, "the ASL names none of the pipeline's exceptions"
    assert ours <= PIPELINE_ERRORS, f"not in errors.py: {sorted(ours - PIPELINE_ERRORS)}"


def test_transient_errors_are_retried_by_every_lambda_task(definition) -> None:
    tasks = _lambda_tasks(definition)
    # (every Lambda task, the callback-token one and both bundle-file checks included)
    assert {"Transcribe audio", "Look again for the file's manifest", "Record failure"} <= set(
        tasks
    )
    for name, task in tasks.items():
        assert set(TRANSIENT_ERRORS) <= _retried(task), name


def _budget_s(retry: dict[str, Any]) -> float:
    """The longest a retrier waits in all (before jitter)."""
    interval, total = float(retry.get("IntervalSeconds", 1)), 0.0
    for _ in range(int(retry.get("MaxAttempts", 3))):
        total += min(interval, float(retry.get("MaxDelaySeconds", interval)))
        interval *= float(retry.get("BackoffRate", 2.0))
    return total


def test_waiting_for_capacity_is_retried_for_hours_by_every_lambda_task(definition) -> None:
    for name, task in _lambda_tasks(definition).items():
        capacity = [
            r for r in task.get("Retry", []) if set(CAPACITY_ERRORS) <= set(r["ErrorEquals"])
        ]
        assert capacity, name
        # FULL jitter waits half of it on average: still hours. The configuration budgets
        # exactly this much before each long wait (config.CAPACITY_WAIT_S).
        assert _budget_s(capacity[0]) == CAPACITY_WAIT_S, (name, _budget_s(capacity[0]))
        assert capacity[0]["MaxDelaySeconds"] <= 300, name  # capacity is noticed within minutes


def test_errors_with_their_own_schedule_are_retried_where_errors_py_says(definition) -> None:
    states = dict(_states(definition["States"]))
    for error, state_name in RETRIED_ON_THEIR_OWN_SCHEDULE.items():
        assert error in _retried(states[state_name]), (error, state_name)
        elsewhere = [n for n, s in states.items() if error in _retried(s) and n != state_name]
        assert not elsewhere, (error, elsewhere)


def test_every_other_pipeline_error_is_permanent_never_retried(definition) -> None:
    retried_anywhere = {
        name for _, state in _states(definition["States"]) for name in _retried(state)
    }
    permanent = (
        PIPELINE_ERRORS
        - set(TRANSIENT_ERRORS)
        - set(CAPACITY_ERRORS)
        - set(RETRIED_ON_THEIR_OWN_SCHEDULE)
    )
    assert "AccessDenied" in permanent
    assert not permanent & retried_anywhere, sorted(permanent & retried_anywhere)
