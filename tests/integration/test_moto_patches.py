"""The moto patches local mode depends on, one behaviour each (moto pinned at 5.2.5). One
module, in patch order, so that a moto upgrade is checked patch by patch in one place."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.events.models import Rule

from mmpipe.local import moto_patches
from mmpipe.local.moto_patches import awslambda, shared, timing
from mmpipe.local.moto_patches import events as events_patches

CONFIG = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
ROLE = "arn:aws:iam::123456789012:role/local"


class Throttled(Exception):
    """Stands in for a handler's typed, retryable exception."""


@pytest.fixture
def patched(monkeypatch) -> Iterator[dict[str, Any]]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "local")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "local")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    calls: dict[str, Any] = {"lambda": [], "jobs": [], "fail_first": 0}

    def run_lambda(name: str, handler: str, event: Any) -> Any:
        calls["lambda"].append((name, handler, event))
        if calls["fail_first"]:
            calls["fail_first"] -= 1
            raise Throttled("slow down")
        if isinstance(event, dict) and event.get("result_bytes"):
            return {"blob": "x" * int(event["result_bytes"])}
        return {"echo": event}

    def run_job(request: dict[str, Any]) -> dict[str, Any]:
        calls["jobs"].append(request)
        status = "Failed" if request["ProcessingJobName"] == "bad" else "Completed"
        return {"ProcessingJobName": request["ProcessingJobName"], "ProcessingJobStatus": status}

    with mock_aws(config=CONFIG):  # type: ignore[arg-type]
        moto_patches.install(lambda_runner=run_lambda, processing_runner=run_job, scale=0.001)
        try:
            yield calls
        finally:
            moto_patches.uninstall()


def _function(name: str = "fn") -> str:
    client = boto3.client("lambda")
    role = boto3.client("iam").create_role(RoleName=f"role-{name}", AssumeRolePolicyDocument="{}")[
        "Role"
    ]["Arn"]
    return str(
        client.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler="pkg.mod.handler",
            Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
        )["FunctionArn"]
    )


def _execute(definition: dict[str, Any], name: str = "run") -> dict[str, Any]:
    sfn = boto3.client("stepfunctions")
    arn = sfn.create_state_machine(
        name=f"sm-{name}", definition=json.dumps(definition), roleArn=ROLE
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn, name=name, input="{}")["executionArn"]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        described = sfn.describe_execution(executionArn=execution)
        # moto marks an execution SUCCEEDED a moment before it stores the output.
        if described["status"] not in ("RUNNING", "SUCCEEDED") or "output" in described:
            return dict(described)
        time.sleep(0.02)
    raise AssertionError("execution did not finish")


def test_lambda_invoke_runs_the_handler_and_reports_errors_by_class_name(patched) -> None:
    # Given a function whose handler raises once
    _function()
    patched["fail_first"] = 1
    client = boto3.client("lambda")

    # When it is invoked twice
    failed = client.invoke(FunctionName="fn", Payload=b'{"a": 1}')
    succeeded = client.invoke(FunctionName="fn", Payload=b'{"a": 2}')

    # Then the failure looks like Lambda's (Unhandled, errorType = the class name)
    assert failed["FunctionError"] == "Unhandled"
    assert json.loads(failed["Payload"].read())["errorType"] == "Throttled"
    # And the success carries the handler's own result
    assert json.loads(succeeded["Payload"].read()) == {"echo": {"a": 2}}
    assert patched["lambda"][0][1] == "pkg.mod.handler"


def test_retry_on_the_error_name_uses_scaled_intervals(patched) -> None:
    # Given a task retried on "Throttled" every 10 s (scaled by 0.001 here)
    arn = _function()
    patched["fail_first"] = 2
    definition = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": arn,
                "End": True,
                "Retry": [{"ErrorEquals": ["Throttled"], "IntervalSeconds": 10, "MaxAttempts": 3}],
            }
        },
    }

    # When it runs
    started = time.monotonic()
    result = _execute(definition)

    # Then it succeeded on the third attempt, in well under the unscaled 30 s
    assert result["status"] == "SUCCEEDED"
    assert len(patched["lambda"]) == 3
    assert time.monotonic() - started < 20


def test_sagemaker_processing_sync_is_served_in_process(patched) -> None:
    # Given a createProcessingJob.sync task (moto: "Unsupported .sync callback procedure")
    def machine(job: str) -> dict[str, Any]:
        return {
            "StartAt": "Job",
            "States": {
                "Job": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::sagemaker:createProcessingJob.sync",
                    "Parameters": {
                        "ProcessingJobName": job,
                        "RoleArn": ROLE,
                        "AppSpecification": {"ImageUri": "image"},
                        "ProcessingResources": {
                            "ClusterConfig": {
                                "InstanceCount": 1,
                                "InstanceType": "ml.m5.large",
                                "VolumeSizeInGB": 1,
                            }
                        },
                    },
                    "ResultSelector": {"status.$": "$.ProcessingJobStatus"},
                    "End": True,
                }
            },
        }

    # When one job completes and one fails
    completed = _execute(machine("good"), "good")
    failed = _execute(machine("bad"), "bad")

    # Then the completed job's description is the task's result
    assert completed["status"] == "SUCCEEDED"
    assert json.loads(completed["output"]) == {"status": "Completed"}
    # And the failed job fails the task with States.TaskFailed, as on AWS
    assert failed["status"] == "FAILED"
    assert failed["error"] == "States.TaskFailed"


def test_eventbridge_rules_deliver_to_lambda_targets(patched) -> None:
    # Given a rule targeting a Lambda function (moto: NotImplementedError)
    arn = _function("callback")
    events = boto3.client("events")
    events.put_rule(Name="jobs", EventPattern=json.dumps({"source": ["aws.transcribe"]}))
    events.put_targets(Rule="jobs", Targets=[{"Id": "1", "Arn": arn}])

    # When a matching and a non-matching event are put
    events.put_events(
        Entries=[
            {
                "Source": "aws.transcribe",
                "DetailType": "Transcribe Job State Change",
                "Detail": json.dumps(
                    {"TranscriptionJobName": "j", "TranscriptionJobStatus": "COMPLETED"}
                ),
            },
            {"Source": "aws.s3", "DetailType": "Object Created", "Detail": "{}"},
        ]
    )

    # Then only the matching event reached the function, in EventBridge's envelope
    ((name, _, event),) = patched["lambda"]
    assert name == "callback"
    assert event["detail"]["TranscriptionJobStatus"] == "COMPLETED"


def _big_result_machine(arn: str, where: str) -> dict[str, Any]:
    call = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": arn,
                "Parameters": {"result_bytes": 300_000},
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Pass", "End": True},
        },
    }
    if where == "top level":
        return call
    return {
        "StartAt": "Branches",
        "States": {
            "Branches": {
                "Type": "Parallel",
                "Branches": [call],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Pass", "End": True},
        },
    }


@pytest.mark.parametrize("where", ["top level", "parallel branch"])
def test_a_state_over_256_kb_fails_the_execution_outside_the_catch_graph(patched, where) -> None:
    # Given a task whose result is 300 KB, under Catches on States.ALL
    definition = _big_result_machine(_function(), where)

    # When it runs
    result = _execute(definition, "big")

    # Then the execution failed with States.DataLimitExceeded: States.ALL does not catch it
    assert result["status"] == "FAILED"
    assert result["error"] == "States.DataLimitExceeded"


def test_a_small_result_passes_the_same_state(patched) -> None:
    arn = _function()
    definition = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": arn,
                "Parameters": {"result_bytes": 200_000},
                "End": True,
            }
        },
    }
    assert _execute(definition, "small")["status"] == "SUCCEEDED"


def test_send_task_failure_keeps_its_cause(patched) -> None:
    # Given an execution waiting on a task token
    arn = _function()
    definition = {
        "StartAt": "Wait for callback",
        "States": {
            "Wait for callback": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Parameters": {"FunctionName": arn, "Payload": {"token.$": "$$.Task.Token"}},
                "End": True,
            }
        },
    }
    sfn = boto3.client("stepfunctions")
    machine = sfn.create_state_machine(
        name="sm-callback", definition=json.dumps(definition), roleArn=ROLE
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=machine, name="cb", input="{}")["executionArn"]
    deadline = time.monotonic() + 60
    while not patched["lambda"] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert patched["lambda"], "the task never invoked its function"
    token = patched["lambda"][0][2]["token"]

    # When the callback fails the task with a reason
    sfn.send_task_failure(taskToken=token, error="AccessDenied", cause="not authorized: x:Y")

    # Then the execution fails with that error and that cause (moto dropped the cause)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        described = sfn.describe_execution(executionArn=execution)
        if described["status"] != "RUNNING":
            break
        time.sleep(0.02)
    assert (described["error"], described["cause"]) == ("AccessDenied", "not authorized: x:Y")


def test_a_callback_wait_times_out_on_the_time_scale(patched, monkeypatch) -> None:
    # Given a 600 s callback timeout, at a time scale of 0.001 and a floor of 1 s
    monkeypatch.setattr(timing, "CALLBACK_TIMEOUT_FLOOR_S", 1)
    arn = _function()
    definition = {
        "StartAt": "Wait",
        "States": {
            "Wait": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "TimeoutSeconds": 600,
                "Parameters": {"FunctionName": arn, "Payload": {"token.$": "$$.Task.Token"}},
                "End": True,
            }
        },
    }

    # When no callback ever comes
    started = time.monotonic()
    result = _execute(definition, "nobody-calls")

    # Then it timed out after about the floor, not after ten minutes
    assert (result["status"], result["error"]) == ("FAILED", "States.Timeout")
    assert time.monotonic() - started < 60


def test_each_definition_parse_has_its_own_scope_stack(patched) -> None:
    # Given two parsers, as two executions starting at once create on their own threads
    from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor

    first, second = Preprocessor(), Preprocessor()

    # Then they do not share the query-language scope stack (moto's is a class attribute:
    # one execution's pop under another's check crashed it with IndexError, seen in a run)
    assert first._query_language_per_scope is not second._query_language_per_scope


def test_uninstall_restores_moto() -> None:
    # Given the patches installed and removed
    moto_patches.install(lambda_runner=lambda *_: None, processing_runner=dict, scale=0.5)
    assert moto_patches.installed()
    moto_patches.uninstall()

    # Then moto's own behaviour is back
    assert not moto_patches.installed()
    assert LambdaSimpleBackend.invoke is not awslambda._invoke
    assert Rule.send_to_targets is not events_patches._send_to_targets
    assert shared.time_scale() == 1.0


def test_a_failed_entry_cause_is_a_string_as_on_aws() -> None:
    # Given the patches installed
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_events as service_events,
    )

    moto_patches.install(lambda_runner=lambda *_: None, processing_runner=dict, scale=0.5)
    try:
        # When PutEvents answers with a failed entry, as moto raises it
        error = service_events.SfnFailedEntryCountException(cause={"FailedEntryCount": 1})

        # Then the Catch sees the response as JSON text (TaskFailedEventDetails.cause is a
        # String on AWS), not as an object
        assert error.cause == '{"FailedEntryCount": 1}'
    finally:
        moto_patches.uninstall()
    assert service_events.SfnFailedEntryCountException(cause={"a": 1}).cause == {"a": 1}


def _retried_task(arn: str) -> dict[str, Any]:
    retry = [{"ErrorEquals": ["Throttled"], "IntervalSeconds": 1, "MaxAttempts": 2}]
    return {
        "StartAt": "Call",
        "States": {"Call": {"Type": "Task", "Resource": arn, "End": True, "Retry": retry}},
    }


def test_executions_share_the_compiled_definition_but_not_their_retry_counts(patched) -> None:
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    # Given one definition, compiled once for every execution of it (Patch 19)
    definition = _retried_task(_function())
    text = json.dumps(definition)
    assert AmazonStateLanguageParser.parse(text)[0] is AmazonStateLanguageParser.parse(text)[0]
    sfn = boto3.client("stepfunctions")
    arn = sfn.create_state_machine(name="sm-shared", definition=text, roleArn=ROLE)[
        "stateMachineArn"
    ]

    # When two executions in turn each need both of their retries
    results = []
    for name in ("first", "second"):
        patched["fail_first"] = 2
        execution = sfn.start_execution(stateMachineArn=arn, name=name, input="{}")
        deadline = time.monotonic() + 60
        while sfn.describe_execution(executionArn=execution["executionArn"])[
            "status"
        ] == "RUNNING" and (time.monotonic() < deadline):
            time.sleep(0.02)
        results.append(sfn.describe_execution(executionArn=execution["executionArn"])["status"])

    # Then each had its own attempts: the second did not inherit the first's spent retries
    assert results == ["SUCCEEDED", "SUCCEEDED"]
    assert len(patched["lambda"]) == 6


def test_a_history_serialized_the_fast_way_is_what_moto_serializes(patched) -> None:
    from moto.stepfunctions.responses import StepFunctionResponse

    # Given an execution with a retried task, so its history has failures and retries
    patched["fail_first"] = 1
    definition = _retried_task(_function())
    definition["States"]["Call"]["Next"] = "Done"
    del definition["States"]["Call"]["End"]
    definition["States"]["Done"] = {"Type": "Pass", "Result": {"n": [1, 2.5, None]}, "End": True}
    result = _execute(definition, name="history")
    sfn = boto3.client("stepfunctions")

    # When its history is read with Patch 22 and with moto's own serializer
    fast = sfn.get_execution_history(executionArn=result["executionArn"])["events"]
    patched_method = StepFunctionResponse.get_execution_history
    StepFunctionResponse.get_execution_history = shared.originals["get_execution_history"]  # type: ignore[method-assign]
    try:
        generic = sfn.get_execution_history(executionArn=result["executionArn"])["events"]
    finally:
        StepFunctionResponse.get_execution_history = patched_method  # type: ignore[method-assign]

    # Then the client sees the same events
    assert len(fast) > 5
    assert fast == generic


def test_the_interpreter_copies_json_as_deepcopy_would() -> None:
    import copy
    import datetime as dt

    from mmpipe.local.moto_patches.speed import _deepcopy

    # Plain JSON: equal, and nothing shared with the original
    value = {"a": [1, 2.5, "x", None, True, {"b": []}]}
    copied = _deepcopy(value)
    assert copied == value
    assert copied["a"] is not value["a"]
    assert copied["a"][5] is not value["a"][5]
    # Anything else: copy.deepcopy, whole
    odd = {"when": dt.datetime(2026, 1, 1), "shared": [value, value]}
    copied_odd = _deepcopy(odd)
    assert copied_odd == copy.deepcopy(odd)
    assert copied_odd["shared"][0] is copied_odd["shared"][1]


def test_start_execution_and_invoke_answer_past_the_emulated_quotas(patched) -> None:
    from botocore.exceptions import ClientError

    from mmpipe.local.faults import parse_faults
    from mmpipe.local.quotas import EmulatedQuotas
    from pipeline.config import Quotas

    # Given a StartExecution bucket of one token that never refills in this test, and an
    # account whose functions are all busy (Patch 25, and Patch 1 with a refusing host)
    lowered = parse_faults("quota=sfn:1,quota=lambda:1").lowered_quotas(Quotas())
    quotas = EmulatedQuotas(lowered, lambda: 0.0)
    quotas.lambda_invocation_started()

    def host(name: str, handler: str, event: Any) -> Any:
        quotas.lambda_invocation_started()
        return event

    moto_patches.install(lambda_runner=host, processing_runner=dict, scale=0.001, quotas=quotas)
    no_retries = Config(retries={"total_max_attempts": 1})  # the SDK retries throttling
    sfn = boto3.client("stepfunctions", config=no_retries)
    definition = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    arn = sfn.create_state_machine(name="sm-rate", definition=definition, roleArn=ROLE)[
        "stateMachineArn"
    ]

    # Then the second StartExecution is throttled, as Step Functions throttles it
    sfn.start_execution(stateMachineArn=arn, name="one", input="{}")
    with pytest.raises(ClientError) as throttled:
        sfn.start_execution(stateMachineArn=arn, name="two", input="{}")
    assert throttled.value.response["Error"]["Code"] == "ThrottlingException"

    # And an Invoke past the concurrency fails as a call, not as the function's error
    _function()
    with pytest.raises(ClientError) as refused:
        boto3.client("lambda", config=no_retries).invoke(FunctionName="fn", Payload=b"{}")
    assert refused.value.response["Error"]["Code"] == "TooManyRequestsException"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert quotas.refused == {"stepfunctions": 1, "lambda": 1}


def test_a_throttled_invocation_is_retried_under_lambdas_own_error_name(patched) -> None:
    from mmpipe.local.quotas import QuotaRefused

    # Given a task retried on Lambda.TooManyRequestsException, whose first Invoke is refused
    refusals = [1]

    def host(name: str, handler: str, event: Any) -> Any:
        if refusals[0]:
            refusals[0] -= 1
            raise QuotaRefused("Rate Exceeded.", "TooManyRequestsException", 429)
        return {"ran": True}

    moto_patches.install(lambda_runner=host, processing_runner=dict, scale=0.001)
    retry = [{"ErrorEquals": ["Lambda.TooManyRequestsException"], "MaxAttempts": 2}]
    definition = {
        "StartAt": "Call",
        "States": {"Call": {"Type": "Task", "Resource": _function(), "End": True, "Retry": retry}},
    }

    # When it runs, it fails once under Lambda's name for the refusal (Patch 26), then succeeds
    result = _execute(definition, name="throttled")
    history = boto3.client("stepfunctions").get_execution_history(
        executionArn=result["executionArn"]
    )["events"]
    failed = [e for e in history if e["type"] == "LambdaFunctionFailed"]
    assert result["status"] == "SUCCEEDED"
    errors = [e["lambdaFunctionFailedEventDetails"]["error"] for e in failed]
    assert errors == ["Lambda.TooManyRequestsException"]


def test_uninstall_restores_what_the_speed_patches_replaced() -> None:
    import botocore.useragent
    from moto.core import responses
    from moto.core.base_backend import BackendDict
    from moto.stepfunctions.parser.asl.eval import states
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    def replaced() -> list[Any]:
        return [
            BackendDict.__getitem__,
            AmazonStateLanguageParser.parse,
            states.copy,
            responses.method_names_from_class,
            responses.get_service_model,
            botocore.useragent.sanitize_user_agent_string_component,
        ]

    before = replaced()
    moto_patches.install(lambda_runner=lambda *_: None, processing_runner=dict, scale=0.5)
    during = replaced()
    moto_patches.uninstall()
    assert all(a is not b for a, b in zip(before, during, strict=True))
    assert all(a is b for a, b in zip(before, replaced(), strict=True))
