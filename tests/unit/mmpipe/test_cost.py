"""`mmpipe cost`: a local run's results summarized per kind beside Bedrock Data Automation's
prices, and a deployment's through Athena (botocore's Stubber: no network)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import boto3
import pytest
from botocore.stub import ANY, Stubber

from mmpipe import cost
from mmpipe.cli import main
from pipeline_contracts.cost import CostLine, ItemCost
from pipeline_contracts.item import Asset, ObjectRef
from pipeline_contracts.records import ItemResult, Timings


def result(item_id: str, kind: str, assets: list[tuple[str, float | None]], ai: float, orch: float):
    source = ObjectRef(bucket="ingest", key=f"incoming/{item_id}")
    return ItemResult(
        item_id=item_id,
        status="processed",
        kind=kind,
        source=source,
        profile="general",
        assets=[
            Asset(
                asset_id=f"a{n}",
                path=f"{item_id}-{n}",
                source=source,
                modality=modality,
                media_format="x",
                mime_type="x/x",
                size_bytes=1,
                duration_s=duration,
            )
            for n, (modality, duration) in enumerate(assets)
        ],
        modalities=sorted({m for m, _ in assets}),
        branches=[],
        gates=[],
        timings=Timings(received_at="2026-12-01T00:00:00Z", finished_at="2026-12-01T00:01:00Z"),
        cost=ItemCost.of(
            [
                CostLine(service="bedrock", unit="1K input tokens, m", quantity=1, usd=ai),
                CostLine(service="lambda", unit="GB-seconds", quantity=1, usd=orch),
            ],
            "2026-12-01",
            "us-east-1",
        ),
    )


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    results = tmp_path / "results"
    results.mkdir()
    items = [
        result("img-1", "object", [("image", None)], 0.0012, 0.0006),
        result("img-2", "object", [("image", None)], 0.0014, 0.0008),
        result("talk", "object", [("audio", 60.0)], 0.0250, 0.0010),
        result("lecture", "bundle", [("video", 120.0), ("captions", 120.0)], 0.0300, 0.0020),
    ]
    for item in items:
        (results / f"{item.item_id}.json").write_text(item.model_dump_json())
    old = result("old", "object", [("text", None)], 0.001, 0.001)
    old.cost = None  # written before records carried a cost
    (results / "old.json").write_text(old.model_dump_json())
    (tmp_path / "quarantine").mkdir()
    (tmp_path / "quarantine" / "broken.json").write_text('{"status": "quarantined"}')
    return tmp_path


def test_a_local_runs_results_per_kind_beside_the_anchors(run_dir):
    rows, without_cost = cost.rows_from_dir(run_dir)
    kinds = {s.kind: s for s in cost.summarize(rows)}

    assert without_cost == 1
    assert list(kinds) == ["image", "audio", "bundle", "all"]
    image, audio, bundle = kinds["image"], kinds["audio"], kinds["bundle"]
    assert image.items == 2
    assert image.total_usd == pytest.approx(0.004)
    assert image.mean_usd == pytest.approx(0.002)
    assert image.orchestration_share == pytest.approx(0.0014 / 0.004)
    assert image.bda_usd == pytest.approx(2 * 0.003)
    # A minute of audio at $0.006, two minutes of video at $0.05 (the captions cost nothing)
    assert audio.bda_usd == pytest.approx(0.006)
    assert audio.orchestration_share == pytest.approx(0.001 / 0.026)
    assert bundle.bda_usd == pytest.approx(0.10)
    assert kinds["all"].items == 4


def test_the_command_prints_a_table_and_json(run_dir, capsys):
    assert main(["cost", str(run_dir)]) == 0
    table = capsys.readouterr().out
    assert "image" in table
    assert "Bedrock Data Automation" in table
    assert "$0.003 per image" in table
    assert "1 result(s) without a cost" in table

    assert main(["cost", str(run_dir), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert [k["kind"] for k in document["kinds"]] == ["image", "audio", "bundle", "all"]
    assert document["anchors"]["video"] == {"per": "video minute", "usd": 0.05}
    assert document["prices_as_of"] == ["2026-12-01"]


def test_the_command_takes_a_folder_or_a_stack(tmp_path, capsys):
    assert main(["cost"]) == 2
    assert main(["cost", str(tmp_path), "--stack", "Pipeline"]) == 2
    assert main(["cost", str(tmp_path / "missing")]) == 2


# --------------------------------------------------------------------------- Athena


def _cell(value: str | None) -> dict[str, str]:
    return {} if value is None else {"VarCharValue": value}


COLUMNS: list[str | None] = [
    "item_id",
    "kind",
    "cost_kind",
    "total",
    "ai",
    "orchestration",
    "images",
    "audio_s",
    "video_s",
    "documents",
    "prices_as_of",
]


def _rows(*rows: list[str | None]) -> dict[str, object]:
    return {"Rows": [{"Data": [_cell(v) for v in row]} for row in rows]}


def test_a_deployments_results_through_athena():
    athena = boto3.client("athena", region_name="us-east-1")
    cloudformation = boto3.client("cloudformation", region_name="us-east-1")
    with Stubber(athena) as athena_stub, Stubber(cloudformation) as cfn_stub:
        # Given a stack whose outputs name its Glue database and table
        cfn_stub.add_response(
            "describe_stacks",
            {
                "Stacks": [
                    {
                        "StackName": "MultimodalPipeline",
                        "CreationTime": dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
                        "StackStatus": "UPDATE_COMPLETE",
                        "Outputs": [
                            {"OutputKey": "ResultsDatabaseName", "OutputValue": "results_db"},
                            {"OutputKey": "ResultsTableName", "OutputValue": "item_results"},
                            {"OutputKey": "ProcessedBucketName", "OutputValue": "processed-b"},
                        ],
                    }
                ]
            },
            {"StackName": "MultimodalPipeline"},
        )
        # And Athena runs the query (still running once), then pages its result
        athena_stub.add_response(
            "start_query_execution",
            {"QueryExecutionId": "q-1"},
            {
                "QueryString": ANY,
                "QueryExecutionContext": {"Database": "results_db"},
                "WorkGroup": "primary",
                "ResultConfiguration": {"OutputLocation": "s3://processed-b/athena-results/"},
            },
        )
        for state in ("RUNNING", "SUCCEEDED"):
            athena_stub.add_response(
                "get_query_execution",
                {"QueryExecution": {"QueryExecutionId": "q-1", "Status": {"State": state}}},
                {"QueryExecutionId": "q-1"},
            )
        athena_stub.add_response(
            "get_query_results",
            {
                "ResultSet": _rows(
                    COLUMNS,
                    [
                        "a",
                        "object",
                        "image",
                        "0.002",
                        "0.0013",
                        "0.0007",
                        "1",
                        "0.0",
                        "0.0",
                        "0",
                        "2026-12-01",
                    ],
                ),
                "NextToken": "page-2",
            },
            {"QueryExecutionId": "q-1"},
        )
        athena_stub.add_response(
            "get_query_results",
            {
                "ResultSet": _rows(
                    [
                        "b",
                        "object",
                        "audio",
                        "0.026",
                        "0.025",
                        "0.001",
                        "0",
                        "60.0",
                        "0.0",
                        "0",
                        "2026-12-01",
                    ]
                )
            },
            {"QueryExecutionId": "q-1", "NextToken": "page-2"},
        )

        # When the deployment's costs are read since a day
        waits: list[float] = []
        rows = cost.rows_from_athena(
            athena, cloudformation, "MultimodalPipeline", dt.date(2026, 11, 30), sleep=waits.append
        )

        # Then every call was made, and the rows are the items
        athena_stub.assert_no_pending_responses()
        cfn_stub.assert_no_pending_responses()
    assert waits == [0.5]
    assert [(r.item_id, r.kind, r.total, r.audio_s) for r in rows] == [
        ("a", "image", 0.002, 0.0),
        ("b", "audio", 0.026, 60.0),
    ]
    kinds = {s.kind: s for s in cost.summarize(rows)}
    assert kinds["audio"].bda_usd == pytest.approx(0.006)


def test_the_query_reads_the_stacks_table_since_the_day():
    query = cost.cost_query("results_db", "item_results", dt.date(2026, 11, 30))
    assert 'FROM "results_db"."item_results"' in query
    assert "dt >= '2026-11-30'" in query
    assert "cost IS NOT NULL" in query


def test_a_failed_query_says_why():
    athena = boto3.client("athena", region_name="us-east-1")
    cloudformation = boto3.client("cloudformation", region_name="us-east-1")
    with Stubber(athena) as athena_stub, Stubber(cloudformation) as cfn_stub:
        cfn_stub.add_response(
            "describe_stacks",
            {
                "Stacks": [
                    {
                        "StackName": "S",
                        "CreationTime": dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
                        "StackStatus": "CREATE_COMPLETE",
                        "Outputs": [
                            {"OutputKey": "ResultsDatabaseName", "OutputValue": "db"},
                            {"OutputKey": "ResultsTableName", "OutputValue": "t"},
                            {"OutputKey": "ProcessedBucketName", "OutputValue": "b"},
                        ],
                    }
                ]
            },
        )
        athena_stub.add_response("start_query_execution", {"QueryExecutionId": "q-2"})
        athena_stub.add_response(
            "get_query_execution",
            {
                "QueryExecution": {
                    "Status": {"State": "FAILED", "StateChangeReason": "Table not found"}
                }
            },
        )
        with pytest.raises(cost.AthenaQueryFailed, match="Table not found"):
            cost.rows_from_athena(athena, cloudformation, "S", output_location="s3://mine/")
