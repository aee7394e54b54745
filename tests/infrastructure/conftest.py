"""Synthesize the real app once per test session (cdk-nag on), and share the output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app import build_app
from mmpipe.local.template import synthesized_definition

STACK = "MultimodalPipeline"


@pytest.fixture(scope="session")
def cdk_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    outdir = tmp_path_factory.mktemp("cdk.out")
    # Raises ValidationFailed if cdk-nag finds anything unacknowledged.
    build_app(outdir=str(outdir)).synth()
    return outdir


@pytest.fixture(scope="session")
def template(cdk_out: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((cdk_out / f"{STACK}.template.json").read_text())
    return document


@pytest.fixture(scope="session")
def definition(cdk_out: Path) -> dict[str, Any]:
    return synthesized_definition(cdk_out)


@pytest.fixture(scope="session")
def state_machine(template: dict[str, Any]) -> dict[str, Any]:
    (machine,) = resources_of(template, "AWS::StepFunctions::StateMachine").values()
    return machine


def resources_of(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}
