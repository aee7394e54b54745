"""Each function's environment model: one per handler, read at cold start, naming what is
missing (PipelineFunction checks the same models at synth; see tests/infrastructure)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from pipeline.config import PipelineConfig
from pipeline.environment import (
    ENVIRONMENTS,
    ResultWriterEnvironment,
    TranscriptGateEnvironment,
    forget_environments,
)

HANDLERS = Path(__file__).resolve().parents[3] / "lambdas" / "pipeline" / "handlers"


def test_every_handler_has_its_environment_model():
    # Given the handler modules
    modules = {p.stem for p in HANDLERS.glob("*.py") if p.stem != "__init__"}

    # Then each has one model, and each model belongs to a handler that exists
    assert sorted(ENVIRONMENTS) == sorted(f"pipeline.handlers.{m}.handler" for m in modules)


def test_a_missing_variable_is_named():
    # Given a writer's environment without its idempotency table
    environ = {"PIPELINE_CONFIG": PipelineConfig().model_dump_json(), "PROCESSED_BUCKET": "p"}

    # Then reading it names the variable
    with pytest.raises(ValidationError, match="idempotency_table"):
        ResultWriterEnvironment.load(environ)


def test_the_environment_is_read_once_per_cold_start(monkeypatch):
    # Given a gate's environment, read once
    monkeypatch.setenv("PIPELINE_CONFIG", PipelineConfig().model_dump_json())
    monkeypatch.setenv("PROCESSED_BUCKET", "processed")
    monkeypatch.setenv("THRESHOLDS_PARAMETER_PATH", "/stack/thresholds")
    forget_environments()
    first = TranscriptGateEnvironment.current()

    # When the variables change under a warm function, Then it keeps what it read
    monkeypatch.setenv("PROCESSED_BUCKET", "other")
    assert TranscriptGateEnvironment.current() is first
    # And it reads them again only when told (local mode, between runs)
    forget_environments()
    assert TranscriptGateEnvironment.current().processed_bucket == "other"
    assert first.thresholds_max_age_s == 300
    forget_environments()
