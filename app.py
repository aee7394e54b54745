#!/usr/bin/env python3
"""CDK entry point: `python app.py` or `npx cdk synth`. Offline, no credentials needed.

The pipeline's configuration is the `pipeline` block of cdk.json context, validated by
pipeline.config.PipelineConfig; override any of it with `-c pipeline='{...}'`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from pipeline.config import load_config
from stacks.pipeline_stack import MultimodalPipelineStack

PROJECT_ROOT = Path(__file__).resolve().parent


def cdk_json_context() -> dict[str, object]:
    """cdk.json's context. The CDK CLI passes it in; plain `python app.py` must read it."""
    document = json.loads((PROJECT_ROOT / "cdk.json").read_text())
    return dict(document.get("context", {}))


def build_app(outdir: str | None = None, context: dict[str, object] | None = None) -> cdk.App:
    merged = {} if "CDK_CONTEXT_JSON" in os.environ else cdk_json_context()
    merged.update(context or {})
    app = cdk.App(outdir=outdir or os.environ.get("CDK_OUTDIR", "cdk.out"), context=merged)
    raw = app.node.try_get_context("pipeline")
    config = load_config(json.loads(raw) if isinstance(raw, str) else raw)
    MultimodalPipelineStack(
        app,
        app.node.try_get_context("stack_name") or "MultimodalPipeline",
        config=config,
        description="Multimodal Pipeline: S3 ingest, Step Functions per-modality branches, fusion",
        # Environment-agnostic unless the deployer's account/region are known (cdk deploy).
        env=cdk.Environment(
            account=os.environ.get("CDK_DEFAULT_ACCOUNT"),
            region=os.environ.get("CDK_DEFAULT_REGION"),
        ),
    )
    # cdk-nag at every synth: unacknowledged findings fail it (3.x API, see FINDINGS.md).
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app


if __name__ == "__main__":
    build_app().synth()
