"""cdk-nag and cfn-lint on what was synthesized."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.infrastructure.conftest import STACK


def test_cdk_nag_ran_and_found_nothing_unacknowledged(cdk_out: Path):
    # The session fixture's synth would have raised on findings; the report must not exist
    # or must conclude success for every plugin.
    report = cdk_out / "validation-report.json"
    if report.exists():
        plugins = json.loads(report.read_text())["pluginReports"]
        assert all(p["conclusion"] == "success" for p in plugins), plugins
    tree = json.loads((cdk_out / "tree.json").read_text())
    assert "MultimodalPipeline" in json.dumps(tree)


def test_cfn_lint_passes_ignoring_only_redundant_depends_on(cdk_out: Path):
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "cfn-lint"),
            "--ignore-checks",
            "W3005",
            "--",
            str(cdk_out / f"{STACK}.template.json"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_function_missing_a_variable_its_handler_needs_fails_the_synth(tmp_path: Path):
    # Given a stack with the result writer's function, but without IDEMPOTENCY_TABLE
    import aws_cdk as cdk
    import pytest
    from aws_cdk import aws_kms as kms

    from pipeline.config import PipelineConfig
    from stacks.constructs.pipeline_function import PipelineFunction, SharedLambdaCode

    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Probe")
    PipelineFunction(
        stack,
        "Writer",
        handler="result_writer",
        description="probe",
        shared=SharedLambdaCode(stack, "Code"),
        key=kms.Key(stack, "Key"),
        config=PipelineConfig(),
        environment={"PROCESSED_BUCKET": "processed"},
    )

    # When it is synthesized, Then the synth fails naming the missing variable
    with pytest.raises(Exception, match="idempotency_table"):
        app.synth()
