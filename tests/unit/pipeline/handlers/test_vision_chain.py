"""The five handlers, chained as the state machine chains them, with fakes behind the seam."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from PIL import Image

from pipeline.adapters.providers import Providers, use_providers
from pipeline.handlers import analyze_media, final_gate, fusion, prepare_media, vision_gate
from pipeline_contracts.item import PlanSummary
from tests.fakes import FixedThresholds, MemoryLedger, function_environment
from tests.unit.pipeline.domain.vision.conftest import PROCESSED, VALID_ANALYSIS, iteration, jpeg
from tests.unit.pipeline.domain.vision.fakes import ScriptedModel


@dataclass
class FakeContext:
    function_name: str = "test-function"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    aws_request_id: str = "request-1"


@pytest.fixture
def model(store, monkeypatch):
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    function_environment(monkeypatch, processed_bucket=PROCESSED)
    scripted = ScriptedModel()
    ledger = MemoryLedger()
    no_speech: Any = object()  # this chain never transcribes
    use_providers(
        Providers(
            store=store,
            model=scripted,
            speech=no_speech,
            name="stub",
            thresholds=FixedThresholds(),
            capacity=lambda _table: ledger,
        )
    )
    yield scripted
    use_providers(None)


def test_vision_iteration_then_fusion_then_final_gate(store, model, add_asset, write_plan, capsys):
    # Given an accepted catalog item: a photo with a complementary description
    picture = Image.effect_mandelbrot((64, 48), (-2, -1.5, 1, 1.5), 100).convert("RGB")
    photo = add_asset("photo.png", jpeg(picture), "image", "jpeg")
    text = add_asset(
        "about.txt", b"A blue kettle.", "text", "txt", role="description", relation="complementary"
    )
    plan = write_plan([photo, text], profile="catalog")
    answer = {"title": "Kettle", "summary": "A blue kettle.", "details": {"colors": ["blue"]}}
    model.script = [f"```json\n{json.dumps(VALID_ANALYSIS)}\n```", json.dumps(answer)]
    context = FakeContext()

    # When the vision Map iteration runs its three states (ResultPath as in the ASL)
    state: dict[str, Any] = iteration(photo, "catalog")
    state["prepared"] = prepare_media.handler(state, context)
    state["analysis"] = analyze_media.handler(state, context)
    vision_output = vision_gate.handler(state, context)
    # And the Parallel's output goes to fusion, then to the final gate, with the plan's summary
    plan_json = PlanSummary.of(plan).model_dump(mode="json")
    fusion_output = fusion.handler(
        {
            "plan": plan_json,
            "branches": [
                {"branch": "audio", "status": "skipped"},
                {"branch": "vision", "status": "succeeded", "results": [vision_output]},
            ],
            "alignment": {"branch": "alignment", "status": "skipped"},
            "execution_arn": "arn:aws:states:us-east-1:123456789012:execution:sm:item-1",
        },
        context,
    )
    final_output = final_gate.handler({"plan": plan_json, "fusion": fusion_output}, context)

    # Then each state returns the small JSON shape the next one reads
    assert set(state["prepared"]) >= {"asset_id", "kind", "input_uri", "companions_uri"}
    assert state["prepared"]["companion_count"] == 1
    assert set(state["analysis"]) >= {"raw_uri", "model_id", "input_tokens", "output_tokens"}
    assert set(vision_output) == {"asset_id", "result_uri", "gates"}
    assert all(gate["passed"] for gate in vision_output["gates"])
    assert set(fusion_output) == {"fusion_uri", "degraded_branches", "status"}
    assert fusion_output["status"] == "processed"
    assert final_output["status"] == "processed"
    assert final_output["gate"]["passed"]
    json.dumps([state, vision_output, fusion_output, final_output])
    # And the gate handlers flushed GatePassed metrics as EMF
    emitted = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line
    ]
    passed = [sum(entry["GatePassed"]) for entry in emitted if "GatePassed" in entry]
    # Three vision gates (schema, content, the image's sharpness), the fusion gate, the final
    assert passed == [3.0, 1.0, 1.0]
    assert all(
        entry["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service"]] for entry in emitted
    )
