"""The bill of an item: usage measured from recorded histories and the model replies, priced
with the dated table; the targets of issue 10 (an image below Bedrock Data Automation's
$0.003, orchestration at most 10 % of an audio item) checked on recorded items."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pipeline.config import ModelRouting
from pipeline.domain.costing import (
    TRANSITIONS_AFTER_THE_RECORD,
    ItemUsage,
    item_cost,
    merged_usage,
)
from pipeline.domain.execution_usage import ExecutionUsage, LambdaRun, execution_usage, timestamp
from pipeline.environment import LambdaMemory
from pipeline.prices import load_prices
from pipeline_contracts.cost import AI_SERVICES, ItemCost, ModelUsage

HISTORIES = Path(__file__).resolve().parent / "histories"
PRICES = load_prices()
US = PRICES.regions["us-east-1"]
# The stack's memory sizes (stacks/constructs), as the writer receives them.
MEMORY = LambdaMemory(
    states={
        "Check intake": 1769,
        "Extract audio track": 2048,
        "Transcribe audio": 256,
        "Check transcript quality": 1024,
        "Prepare media for the model": 2048,
        "Analyze with Bedrock": 512,
        "Check vision output": 512,
        "Reserve an alignment instance": 256,
        "Check alignment quality": 512,
        "Fuse modalities": 1024,
        "Check final quality": 512,
        "Write results": 1024,
    }
)


def recorded(name: str) -> tuple[list[dict[str, Any]], datetime]:
    """A history as the result writer read it, and the moment it read it (0.4 s into its run)."""
    events = json.loads((HISTORIES / f"{name}.json").read_text())["events"]
    return events, timestamp(events[-1]["timestamp"]) + timedelta(seconds=0.4)


def event(id_: int, previous: int, kind: str, at: float, **details: Any) -> dict[str, Any]:
    start = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    record: dict[str, Any] = {
        "id": id_,
        "previousEventId": previous,
        "type": kind,
        "timestamp": start + timedelta(seconds=at),
    }
    if details:
        record[f"{kind[0].lower()}{kind[1:]}EventDetails"] = details
    return record


def entered(id_: int, previous: int, name: str, at: float) -> dict[str, Any]:
    record = event(id_, previous, "TaskStateEntered", at)
    record["stateEnteredEventDetails"] = {"name": name}
    return record


def usage(
    execution: ExecutionUsage,
    models: list[ModelUsage],
    media_s: list[float | None] | None = None,
    work_files: int = 6,
    assets: int = 1,
) -> ItemUsage:
    return ItemUsage(
        models=models,
        transcribe_media_s=media_s or [],
        execution=execution,
        work_files=work_files,
        derived_files=0,
        assets=assets,
        memory=MEMORY,
    )


def line(cost: ItemCost, service: str, unit_starts: str) -> Any:
    (found,) = [x for x in cost.lines if x.service == service and x.unit.startswith(unit_starts)]
    return found


# --------------------------------------------------------------------------- the history


def test_a_recorded_history_gives_transitions_lambda_runs_and_the_alignment_job():
    # Given the history the writer read for the demo's lecture (video + captions)
    events, now = recorded("video_bundle")

    # When its usage is measured
    measured = execution_usage(events, now)

    # Then every state entered so far is a transition (no retries happened)
    assert measured.transitions == sum(e["type"].endswith("StateEntered") for e in events) == 24
    assert measured.retries == 0
    # And each Lambda run is attributed to its state, the writer's own still running
    runs = {run.state: run for run in measured.lambda_runs}
    assert len(measured.lambda_runs) == 11
    assert runs["Write results"].running
    assert runs["Write results"].seconds == pytest.approx(0.4)
    # And "Transcribe audio" is the function's run until it returned (TaskSubmitted), not
    # the wait for Transcribe's callback after it
    submitted = {e["previousEventId"]: e for e in events if e["type"] == "TaskSubmitted"}
    (started,) = [
        e
        for e in events
        if e["type"] == "TaskStarted" and e["taskStartedEventDetails"]["resourceType"] == "lambda"
    ]
    expected = timestamp(submitted[started["id"]]["timestamp"]) - timestamp(started["timestamp"])
    assert runs["Transcribe audio"].seconds == pytest.approx(expected.total_seconds())
    # And the alignment job is the instance type the task asked for, timed by the task (the
    # local stand-in's description has no ProcessingStartTime)
    (job,) = measured.jobs
    assert (job.instance_type, job.instance_count, job.measured) == ("ml.m5.large", 1, False)
    assert 0 < job.seconds < 60


def test_retries_are_transitions_and_each_attempt_a_lambda_run():
    # Given a task that failed once and was retried, then a processing job whose description
    # has its own start and end (epoch milliseconds, as Step Functions renders them)
    job_params = {
        "ProcessingJobName": "mmp-align-1",
        "ProcessingResources": {
            "ClusterConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 2}
        },
    }
    job_start_ms = datetime(2026, 12, 1, 12, 1, tzinfo=UTC).timestamp() * 1000
    description = {"ProcessingStartTime": job_start_ms, "ProcessingEndTime": job_start_ms + 90_000}
    events = [
        event(1, 0, "ExecutionStarted", 0),
        entered(2, 1, "Check intake", 0.1),
        event(3, 2, "LambdaFunctionScheduled", 0.1),
        event(4, 3, "LambdaFunctionStarted", 0.2),
        event(5, 4, "LambdaFunctionFailed", 1.2),
        event(6, 5, "LambdaFunctionScheduled", 3.2),
        event(7, 6, "LambdaFunctionStarted", 3.3),
        event(8, 7, "LambdaFunctionSucceeded", 5.3),
        event(9, 8, "TaskStateExited", 5.3),
        entered(10, 9, "Run alignment job", 5.4),
        event(
            11,
            10,
            "TaskScheduled",
            5.4,
            resourceType="sagemaker",
            resource="createProcessingJob.sync",
            parameters=json.dumps(job_params),
        ),
        event(12, 11, "TaskStarted", 5.5, resourceType="sagemaker"),
        event(13, 12, "TaskSubmitted", 6.0, resourceType="sagemaker"),
        event(14, 13, "TaskSucceeded", 200.0, output=json.dumps(description)),
    ]

    # When the usage is measured
    measured = execution_usage(events, datetime(2026, 12, 1, 12, 5, tzinfo=UTC))

    # Then the retry is one more transition, and each attempt is a Lambda run
    assert (measured.transitions, measured.retries) == (3, 1)
    assert [r.state for r in measured.lambda_runs] == ["Check intake", "Check intake"]
    assert [r.seconds for r in measured.lambda_runs] == pytest.approx([1.0, 2.0])
    # And the job is billed for its own 90 s on each of its 2 instances
    (job,) = measured.jobs
    assert (job.instance_type, job.instance_count, job.measured) == ("ml.m5.xlarge", 2, True)
    assert job.seconds == pytest.approx(90.0)
    cost = item_cost(usage(measured, []), PRICES, "us-east-1")
    assert line(cost, "sagemaker", "instance seconds").usd == pytest.approx(180 / 3600 * 0.23)


# --------------------------------------------------------------------------- the prices


def test_cost_lines_price_the_measured_usage_with_the_dated_table():
    # Given the demo's lecture: its history and its model usage as the records kept it
    events, now = recorded("video_bundle")
    measured = execution_usage(events, now)
    models = [
        ModelUsage(
            model_id="us.amazon.nova-lite-v1:0", calls=1, input_tokens=3698, output_tokens=79
        ),
        ModelUsage(
            model_id="us.amazon.nova-pro-v1:0", calls=1, input_tokens=1286, output_tokens=377
        ),
    ]

    # When the item is priced
    cost = item_cost(
        usage(measured, models, media_s=[9.5], work_files=17, assets=2), PRICES, "us-east-1"
    )

    # Then each line is its quantity times the table's price
    assert line(cost, "bedrock", "1K input tokens, amazon.nova-lite").usd == pytest.approx(
        3.698 * 0.00006
    )
    assert line(cost, "bedrock", "1K output tokens, amazon.nova-pro").usd == pytest.approx(
        0.377 * 0.0032
    )
    transcribe = line(cost, "transcribe", "billed seconds")
    assert (transcribe.quantity, transcribe.usd) == (15, pytest.approx(15 / 60 * 0.024))
    transitions = line(cost, "stepfunctions", "state transitions, measured")
    assert (transitions.quantity, transitions.usd) == (24, pytest.approx(24 * 0.025 / 1000))
    assert line(cost, "stepfunctions", "state transitions after").quantity == (
        TRANSITIONS_AFTER_THE_RECORD
    )
    gb_s = sum(run.seconds * MEMORY.of(run.state) / 1024 for run in measured.lambda_runs)
    assert line(cost, "lambda", "GB-seconds, 11 invocations").usd == pytest.approx(
        gb_s * 0.0000166667, rel=1e-4
    )
    assert line(cost, "lambda", "requests, measured").quantity == 11
    # And ai is Bedrock, Transcribe and SageMaker; orchestration everything else
    ai = sum(x.usd for x in cost.lines if x.service in AI_SERVICES)
    assert cost.ai == pytest.approx(ai)
    assert cost.total == pytest.approx(cost.ai + cost.orchestration)
    assert {x.service for x in cost.lines} - AI_SERVICES == {
        "stepfunctions",
        "lambda",
        "s3",
        "sqs",
        "eventbridge",
        "cloudwatch",
        "kms",
    }
    # And the bill says which prices made it
    assert (cost.prices_as_of, cost.region, cost.currency) == ("2026-12-01", "us-east-1", "USD")
    # And what is not measured says so
    estimated = {x.service for x in cost.lines if "estimate" in x.unit}
    assert estimated >= {"stepfunctions", "lambda", "s3", "sqs", "kms", "cloudwatch"}


def test_what_the_table_cannot_price_is_listed_at_zero_and_says_why():
    measured = ExecutionUsage(0, 0, [], [], 0)
    cost = item_cost(
        usage(
            measured,
            [ModelUsage(model_id="acme.model-v9", calls=1, input_tokens=1000, output_tokens=10)],
        ),
        PRICES,
        "us-east-1",
    )
    assert all(x.usd == 0 and "not priced" in x.unit for x in cost.lines if x.service == "bedrock")


def test_a_region_the_table_lacks_is_billed_at_us_east_1_and_says_so():
    cost = item_cost(usage(ExecutionUsage(0, 0, [], [], 0), []), PRICES, "ap-south-2")
    assert cost.region == "us-east-1"


def test_model_usage_merges_per_model():
    merged = merged_usage(
        [
            ModelUsage(model_id="m", calls=1, input_tokens=10, output_tokens=1),
            ModelUsage(model_id="n", calls=1, input_tokens=5, output_tokens=5),
            ModelUsage(model_id="m", calls=2, input_tokens=20, output_tokens=2),
        ]
    )
    assert [(u.model_id, u.calls, u.input_tokens, u.output_tokens) for u in merged] == [
        ("m", 3, 30, 3),
        ("n", 1, 5, 5),
    ]


# --------------------------------------------------------------------------- the targets


def test_an_image_only_item_costs_less_than_bedrock_data_automation_with_the_default_models():
    # Given the demo's poster (one PNG) as the writer measured it: the vision call on the
    # default image model and the fusion call on the default fusion model, with the tokens
    # the local Bedrock stand-in reported (request size: 4 characters a token, the image at
    # width x height / 750), and no alignment job (nothing to align)
    routing = ModelRouting()
    events, now = recorded("image")
    measured = execution_usage(events, now)
    assert measured.jobs == []
    models = [
        ModelUsage(model_id=routing.image, calls=1, input_tokens=963, output_tokens=116),
        ModelUsage(model_id=routing.fusion, calls=1, input_tokens=907, output_tokens=142),
    ]

    # When it is priced
    cost = item_cost(usage(measured, models, work_files=5), PRICES, "us-east-1")

    # Then it costs less than BDA's $0.003 an image; the fusion call on Nova Pro is most of it
    assert cost.total < 0.003
    fusion = sum(x.usd for x in cost.lines if x.unit.endswith("amazon.nova-pro-v1:0"))
    assert fusion == pytest.approx(0.907 * 0.0008 + 0.142 * 0.0032)
    assert fusion > cost.total / 2


def test_orchestration_is_at_most_a_tenth_of_a_one_minute_audio_item():
    # Given the demo's speech item's history, for a minute of audio: Transcribe and the
    # fusion call (no vision, no alignment)
    events, now = recorded("audio")
    measured = execution_usage(events, now)
    models = [
        ModelUsage(model_id=ModelRouting().fusion, calls=1, input_tokens=843, output_tokens=135)
    ]

    # When it is priced
    cost = item_cost(usage(measured, models, media_s=[60.0], work_files=8), PRICES, "us-east-1")

    # Then Transcribe bills the minute, and orchestration is at most 10 % of the total
    assert line(cost, "transcribe", "billed seconds").usd == pytest.approx(0.024)
    assert cost.orchestration_share <= 0.10
    assert cost.orchestration == pytest.approx(
        sum(x.usd for x in cost.lines if x.service not in AI_SERVICES)
    )


def test_transcribe_bills_at_least_its_minimum_per_job():
    cost = item_cost(
        usage(
            ExecutionUsage(0, 0, [LambdaRun("Transcribe audio", 0.5)], [], 0), [], [3.2, None, 61.4]
        ),
        PRICES,
        "us-east-1",
    )
    billed = line(cost, "transcribe", "billed seconds")
    assert billed.quantity == 15 + 15 + 62
    assert "estimate" in billed.unit  # one job's duration was unknown
