"""What the result writer bills items with, as synthesized: each task state's function memory,
and its own execution's history, granted without a reference to the state machine (which
references the writer: a circular dependency CloudFormation refuses)."""

from __future__ import annotations

import json
from typing import Any

from tests.infrastructure.conftest import resources_of

WRITER_HANDLER = "pipeline.handlers.result_writer.handler"


def _functions_by_handler(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        f["Properties"]["Handler"]: f["Properties"]
        for f in resources_of(template, "AWS::Lambda::Function").values()
        if str(f["Properties"].get("Handler", "")).startswith("pipeline.")
    }


def test_the_writer_knows_each_task_states_function_memory(template):
    functions = _functions_by_handler(template)
    memory = json.loads(functions[WRITER_HANDLER]["Environment"]["Variables"]["LAMBDA_MEMORY_MB"])
    for state, handler in {
        "Check intake": "intake_gate",
        "Transcribe audio": "start_transcription",
        "Prepare media for the model": "prepare_media",
        "Fuse modalities": "fusion",
        "Write results": "result_writer",
    }.items():
        assert (
            memory["states"][state]
            == (functions[f"pipeline.handlers.{handler}.handler"]["MemorySize"])
        ), state
    assert memory["dispatcher"] == functions["pipeline.handlers.dispatcher.handler"]["MemorySize"]
    assert (
        memory["transcription_callback"]
        == (functions["pipeline.handlers.transcription_callback.handler"]["MemorySize"])
    )


def test_the_writer_reads_its_executions_histories_named_by_logical_id(template, state_machine):
    (machine_id,) = resources_of(template, "AWS::StepFunctions::StateMachine")
    statements = [
        statement
        for policy in resources_of(template, "AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Action"] == "states:GetExecutionHistory"
    ]
    (statement,) = statements
    resource = json.dumps(statement["Resource"])
    assert f":execution:{machine_id}*:*" in resource
    # A name, not a Ref or GetAtt of the state machine
    assert machine_id not in resource.replace(f":execution:{machine_id}*", "")
