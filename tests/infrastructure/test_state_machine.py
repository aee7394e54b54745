"""The synthesized state machine: its shape, its error handling, its logging."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

PROJECT = Path(__file__).resolve().parents[2]


def _all_states(states: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = {}
    for name, state in states.items():
        found[name] = state
        for branch in state.get("Branches", []):
            found.update(_all_states(branch["States"]))
        if "ItemProcessor" in state:
            found.update(_all_states(state["ItemProcessor"]["States"]))
    return found


def test_parallel_has_one_branch_per_modality_then_alignment_then_sequential_fusion(definition):
    # Given the synthesized definition
    states = definition["States"]
    parallel = states["Process modalities"]
    # Then the audio and vision branches start with their routing choice
    starts = [branch["StartAt"] for branch in parallel["Branches"]]
    assert starts == ["Has audio?", "Has visual or text content?"]
    # And alignment follows them (its timeline joins Transcribe's words), only when needed
    assert parallel["Next"] == "Needs alignment?"
    choice = states["Needs alignment?"]
    assert choice["Choices"][0]["Next"] == "Reserve an alignment instance"
    assert states["Reserve an alignment instance"]["Next"] == "Run alignment job"
    # And every way out of it (skipped, done, failed) leads to fusion with its verdict
    for name in ("Skip alignment", "Alignment branch done", "Alignment branch failed"):
        assert states[name]["ResultPath"] == "$.alignment_branch", name
        assert states[name]["Next"] == "Fuse modalities", name
    for name in ("Reserve an alignment instance", "Run alignment job", "Check alignment quality"):
        assert [c["Next"] for c in states[name]["Catch"]] == ["Alignment branch failed"], name
    assert states["Fuse modalities"]["Parameters"]["alignment.$"] == "$.alignment_branch"
    # And fusion follows: fuse -> final gate -> index for search -> write results
    assert states["Fuse modalities"]["Next"] == "Check final quality"
    assert states["Check final quality"]["Next"] == "Index for search"
    assert states["Index for search"]["Next"] == "Write results"
    # And a failed indexing reaches the writer too (the item degraded, not failed)
    assert [c["Next"] for c in states["Index for search"]["Catch"]] == ["Index for search failed"]
    assert states["Index for search failed"]["Next"] == "Write results"
    assert states["Index for search failed"]["ResultPath"] == "$.search"
    assert states["Write results"]["Parameters"]["search.$"] == "$.search"


def test_every_task_has_retry_or_catch(definition):
    tasks = {n: s for n, s in _all_states(definition["States"]).items() if s["Type"] == "Task"}
    assert len(tasks) >= 13
    for name, task in tasks.items():
        assert task.get("Retry") or task.get("Catch"), name


def test_lambda_retries_are_bounded_with_backoff_and_jitter(definition):
    for name, state in _all_states(definition["States"]).items():
        for retry in state.get("Retry", []):
            # Waiting for capacity retries for hours (test_error_contract); the rest quickly.
            waits = "CapacityUnavailable" in retry["ErrorEquals"] or any(
                "ResourceLimitExceeded" in error for error in retry["ErrorEquals"]
            )
            assert retry["MaxAttempts"] <= (80 if waits else 12), name
            assert retry.get("MaxDelaySeconds", 0) <= 300, name
            assert retry["BackoffRate"] >= 1.0, name
            assert retry.get("JitterStrategy") == "FULL", name
            # Permanent errors are never retried; only the steps that move a message (the
            # dead letter, the announcement and its outbox) retry whatever fails them.
            assert "States.ALL" not in retry["ErrorEquals"] or name in (
                "Send to dead-letter queue",
                "Announce the result",
                "Keep the unsent announcement",
            )


def test_each_branch_degrades_instead_of_failing_the_item(definition):
    for branch in definition["States"]["Process modalities"]["Branches"]:
        catches = [c for s in branch["States"].values() for c in s.get("Catch", [])]
        assert catches, branch["StartAt"]
        for catch in catches:
            failed = branch["States"][catch["Next"]]
            assert failed["Type"] == "Pass"
            assert failed["Parameters"]["status"] == "failed"


def _paths(value: Any) -> list[str]:
    """Every JSONPath a Parameters-like block reads (its "key.$" values), however nested."""
    if isinstance(value, dict):
        found = []
        for key, inner in value.items():
            if key.endswith(".$") and isinstance(inner, str):
                found.append(inner)
            else:
                found.extend(_paths(inner))
        return found
    if isinstance(value, list):
        return [path for inner in value for path in _paths(inner)]
    return []


def test_payloads_stay_out_of_the_state(definition):
    # Given every block that builds a state's input or result
    blocks = [
        (name, field, state[field])
        for name, state in _all_states(definition["States"]).items()
        for field in ("Parameters", "ItemSelector", "ResultSelector")
        if field in state
    ]
    assert blocks
    # Then none copies the plan's assets or vocabulary, or a whole asset: they stay in the
    # plan in S3 (Step Functions refuses a state over 256 KB); the state names assets by id
    for name, field, block in blocks:
        for path in _paths(block):
            assert not path.startswith(("$.plan.assets", "$.plan.vocabulary")), (name, path)
            assert path not in ("$.asset", "$$.Map.Item.Value"), (name, field, path)
    # And each Map iteration is given the asset's id and where its plan is
    maps = {n: s for n, s in _all_states(definition["States"]).items() if s["Type"] == "Map"}
    assert set(maps) == {"Transcribe each audio asset", "Analyze each visual asset"}
    for name, state in maps.items():
        selector = state["ItemSelector"]
        assert selector["asset_id.$"] == "$$.Map.Item.Value.asset_id", name
        assert selector["plan_uri.$"] == "$.plan.plan_uri", name


def test_one_failed_asset_does_not_fail_its_branch(definition):
    maps = {n: s for n, s in _all_states(definition["States"]).items() if s["Type"] == "Map"}
    for name, state in maps.items():
        iteration = state["ItemProcessor"]["States"]
        tasks = {n: s for n, s in iteration.items() if s["Type"] == "Task"}
        assert tasks, name
        for task_name, task in tasks.items():
            # Every step of an iteration catches its own failure (States.ALL, always last)...
            catch = task["Catch"][-1]
            assert catch["ErrorEquals"] == ["States.ALL"], (name, task_name)
            assert catch["ResultPath"] == "$.error", (name, task_name)
            # ...into a Pass that ends the iteration with the asset's id and the cause
            failed = iteration[catch["Next"]]
            assert failed["Type"] == "Pass"
            assert failed["End"] is True
            assert failed["Parameters"] == {
                "asset_id.$": "$.asset_id",
                "error.$": "$.error.Error",
                "cause.$": "$.error.Cause",
            }
            # And the retries stay as they were, before the catch
            assert task["Retry"], (name, task_name)
        # A succeeded iteration ends with its summary only
        (last,) = [s for s in tasks.values() if s.get("End")]
        assert set(last["ResultSelector"]) == {"asset_id.$", "result_uri.$", "gates.$"}
        # And the Map itself still has its own Catch, for failures of the Map
        assert state["Catch"][0]["ErrorEquals"] == ["States.ALL"], name


def test_top_level_failures_record_then_dead_letter_then_fail(definition):
    states = definition["States"]
    for name in ("Check intake", "Process modalities", "Fuse modalities", "Write results"):
        (catch,) = states[name]["Catch"]
        assert catch["ErrorEquals"] == ["States.ALL"]
        assert states[catch["Next"]]["Next"] == "Record failure"
    # Unless the item already has its result (a step after the write failed): then it ends
    # processed, with that one record.
    assert states["Record failure"]["Next"] == "Was the item processed after all?"
    after_all = states["Was the item processed after all?"]
    assert after_all["Choices"][0]["Next"] == "Processed"
    assert after_all["Default"] == "Send to dead-letter queue"
    assert states["Send to dead-letter queue"]["Next"] == "Item failed"
    assert states["Item failed"]["Type"] == "Fail"


def test_nothing_after_the_result_can_fail_the_item(definition):
    states = definition["States"]
    assert states["Write results"]["Next"] == "Announce the result"
    for name in ("Announce the result", "Keep the unsent announcement"):
        (catch,) = states[name]["Catch"]
        assert catch["ErrorEquals"] == ["States.ALL"]
        assert catch["Next"] in ("Keep the unsent announcement", "Processed")
        assert states[name]["Next"] == "Processed"


def test_transcription_waits_on_a_task_token_not_a_polling_loop(definition):
    states = _all_states(definition["States"])
    transcribe = states["Transcribe audio"]
    assert transcribe["Resource"] == "arn:aws:states:::lambda:invoke.waitForTaskToken"
    assert transcribe["TimeoutSecondsPath"] == "$.transcribe_timeout_s"
    # A timed-out wait checks the job once (a lost event), it does not start polling
    timeout_catch = transcribe["Catch"][0]
    assert timeout_catch["ErrorEquals"] == ["States.Timeout"]
    assert states[timeout_catch["Next"]]["Next"] == "Check transcript quality"
    # The one Wait is the bundle file's single wait for its manifest, never a loop
    waits = [name for name, s in states.items() if s["Type"] == "Wait"]
    assert waits == ["Wait for the manifest"]
    assert "Wait for the manifest" not in _reachable(states, "Look again for the file's manifest")


def _reachable(states: dict, start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        name = todo.pop()
        if name in seen or name not in states:
            continue
        seen.add(name)
        state = states[name]
        todo += [state.get("Next"), state.get("Default")]
        todo += [c["Next"] for c in state.get("Choices", []) + state.get("Catch", [])]
    return seen - {start}


def test_alignment_runs_the_processing_job_synchronously(definition):
    job = _all_states(definition["States"])["Run alignment job"]
    assert job["Resource"] == "arn:aws:states:::sagemaker:createProcessingJob.sync"
    assert job["Parameters"]["NetworkConfig"] == {"EnableNetworkIsolation": True}
    inputs = {i["InputName"] for i in job["Parameters"]["ProcessingInputs"]}
    assert inputs == {"code", "plan", "media"}


def test_logging_all_and_tracing_on(state_machine):
    properties = state_machine["Properties"]
    assert properties["LoggingConfiguration"]["Level"] == "ALL"
    assert properties["LoggingConfiguration"]["IncludeExecutionData"] is True
    assert properties["TracingConfiguration"] == {"Enabled": True}


@pytest.mark.skipif(shutil.which("npx") is None, reason="node tools not installed")
def test_asl_validator_accepts_the_synthesized_definition(definition, tmp_path):
    path = tmp_path / "pipeline.asl.json"
    path.write_text(json.dumps(definition))
    result = subprocess.run(
        ["npx", "--no-install", "asl-validator", "--json-path", str(path)],
        capture_output=True,
        text=True,
        cwd=PROJECT,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
