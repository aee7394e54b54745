"""The result writer's handler, after the vision chain and fusion: the record it writes carries
the item's cost, measured from its execution's history and the model replies' usage, with
the memory the stack passes in and the dated price table."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
    IdempotencyItemNotFoundError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from PIL import Image

from pipeline.adapters.providers import Providers, use_providers
from pipeline.domain.execution_usage import timestamp
from pipeline.handlers import (
    analyze_media,
    final_gate,
    fusion,
    prepare_media,
    result_writer,
    vision_gate,
)
from pipeline_contracts.item import PlanSummary
from pipeline_contracts.naming import record_key
from pipeline_contracts.records import ItemResult
from pipeline_contracts.work.fusion import FusionDraft
from tests.fakes import FixedThresholds, MemoryLedger, function_environment
from tests.unit.pipeline.domain.test_costing import recorded
from tests.unit.pipeline.domain.vision.conftest import (
    ITEM_ID,
    PROCESSED,
    VALID_ANALYSIS,
    iteration,
    jpeg,
)
from tests.unit.pipeline.domain.vision.fakes import ScriptedModel

EXECUTION_ARN = f"arn:aws:states:us-east-1:123456789012:execution:PipelineStateMachine:{ITEM_ID}"
RECEIVED_AT = "2026-12-01T12:00:00+00:00"


@dataclass
class FakeContext:
    function_name: str = "test-function"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    aws_request_id: str = "request-1"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


class MemoryPersistence(BasePersistenceLayer):
    """Powertools idempotency records in a dict (the DynamoDB table's behaviour)."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.records: dict[str, DataRecord] = {}

    def _get_record(self, idempotency_key: str) -> DataRecord:
        if idempotency_key not in self.records:
            raise IdempotencyItemNotFoundError
        return self.records[idempotency_key]

    def _put_record(self, data_record: DataRecord) -> None:
        if data_record.idempotency_key in self.records:
            raise IdempotencyItemAlreadyExistsError
        self.records[data_record.idempotency_key] = data_record

    def _update_record(self, data_record: DataRecord) -> None:
        self.records[data_record.idempotency_key] = data_record

    def _delete_record(self, data_record: DataRecord) -> None:
        self.records.pop(data_record.idempotency_key, None)


@dataclass
class RecordedHistory:
    """The history of the image item the demo recorded, for whichever execution is asked,
    moved in time so that the writer's own run started a moment ago."""

    asked: list[str] = field(default_factory=list)

    def events(self, execution_arn: str) -> list[dict[str, Any]]:
        self.asked.append(execution_arn)
        events, _ = recorded("image")
        shift = datetime.now(UTC) - timestamp(events[-1]["timestamp"])
        return [{**e, "timestamp": timestamp(e["timestamp"]) + shift} for e in events]


@pytest.fixture
def world(store, monkeypatch):
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    memory = {"states": {"Analyze with Bedrock": 512, "Write results": 1024}, "dispatcher": 256}
    function_environment(
        monkeypatch,
        processed_bucket=PROCESSED,
        idempotency_table="idempotency",
        lambda_memory_mb=json.dumps(memory),
        aws_region="us-west-2",
    )
    scripted, history, persistence = ScriptedModel(), RecordedHistory(), MemoryPersistence()
    no_speech: Any = object()
    use_providers(
        Providers(
            store=store,
            model=scripted,
            speech=no_speech,
            name="stub",
            thresholds=FixedThresholds(),
            capacity=lambda _table: MemoryLedger(),
            idempotency=lambda _table: persistence,
            history=lambda: history,
        )
    )
    yield scripted, history
    use_providers(None)


def test_the_record_carries_the_items_cost(store, world, add_asset, write_plan):
    model, history = world
    # Given an image item that went through the vision branch, fusion and the final gate
    picture = Image.effect_mandelbrot((64, 48), (-2, -1.5, 1, 1.5), 100).convert("RGB")
    photo = add_asset("photo.png", jpeg(picture), "image", "jpeg")
    plan = write_plan([photo], profile="general")
    answer = {"title": "Fractal", "summary": "A fractal.", "details": {"topics": ["maths"]}}
    model.script = [f"```json\n{json.dumps(VALID_ANALYSIS)}\n```", answer]
    context = FakeContext()
    state: dict[str, Any] = iteration(photo, "general")
    state["prepared"] = prepare_media.handler(state, context)
    state["analysis"] = analyze_media.handler(state, context)
    vision_output = vision_gate.handler(state, context)
    plan_json = PlanSummary.of(plan).model_dump(mode="json")
    fusion_output = fusion.handler(
        {
            "plan": plan_json,
            "branches": [
                {"branch": "audio", "status": "skipped"},
                {"branch": "vision", "status": "succeeded", "results": [vision_output]},
            ],
            "alignment": {"branch": "alignment", "status": "skipped"},
            "execution_arn": EXECUTION_ARN,
        },
        context,
    )
    verdict = final_gate.handler({"plan": plan_json, "fusion": fusion_output}, context)
    request = {
        "item_id": ITEM_ID,
        "kind": "object",
        "source": photo.source.model_dump(mode="json"),
        "received_at": RECEIVED_AT,
    }

    # When the result writer runs
    output = result_writer.handler(
        {
            "request": request,
            "plan": plan_json,
            "fusion": fusion_output,
            "final_gate": verdict,
            "search": {
                "status": "indexed",
                "vectors": 3,
                "embedded": 2,
                "cache_hits": 1,
                "model_id": "amazon.nova-2-multimodal-embeddings-v1:0",
                "dimension": 1024,
                "usage": {
                    "model_id": "amazon.nova-2-multimodal-embeddings-v1:0",
                    "text_calls": 1,
                    "text_tokens": 2000,
                    "image_calls": 1,
                    "cache_hits": 1,
                },
                "put_bytes": 12_288,
            },
            "execution_arn": EXECUTION_ARN,
            "started_at": RECEIVED_AT,
        },
        context,
    )

    # Then fusion kept its own call's tokens in its draft
    draft = FusionDraft.model_validate_json(store.body(PROCESSED, f"work/{ITEM_ID}/fusion.json"))
    (fusion_usage,) = draft.model_usage
    assert (fusion_usage.model_id, fusion_usage.calls) == ("us.amazon.nova-pro-v1:0", 1)
    assert fusion_usage.input_tokens == 100
    # And the writer read its own execution's history
    assert history.asked == [EXECUTION_ARN]
    # And the record carries the cost: both models' tokens, the history's transitions, the
    # Lambda runs at the memory the stack passed, in the region's prices
    assert output["status"] == "processed"
    result = ItemResult.model_validate_json(
        store.body(PROCESSED, record_key("results", ITEM_ID, RECEIVED_AT))
    )
    cost = result.cost
    assert cost is not None
    assert (cost.region, cost.prices_as_of) == ("us-west-2", "2026-12-01")
    billed_models = {
        x.unit.rsplit(", ", 1)[1]
        for x in cost.lines
        if x.service == "bedrock" and x.unit.startswith(("1K input", "1K output"))
    }
    assert billed_models == {"amazon.nova-lite-v1:0", "amazon.nova-pro-v1:0"}
    # And the search index's part: 2,000 text tokens and one image embedded, the cache's
    # hit counted at no cost, the vectors' bytes written
    embedded = {x.unit.split(",")[0]: x for x in cost.lines if "embed" in x.unit}
    assert embedded["1K text tokens embedded"].usd == pytest.approx(2 * 0.000135)
    assert embedded["images embedded"].usd == pytest.approx(0.00006)
    (hits,) = [x for x in cost.lines if x.unit.startswith("pieces found in the embedding cache")]
    assert (hits.quantity, hits.usd) == (1, 0)
    assert result.search is not None
    assert result.search.vectors == 3
    (transitions,) = [x for x in cost.lines if x.unit.startswith("state transitions, measured")]
    assert transitions.quantity == 17
    assert cost.total == pytest.approx(cost.ai + cost.orchestration)
    assert 0 < cost.total < 0.01
    # And the work files are counted under the item's prefix (PUTs are measured)
    (puts,) = [x for x in cost.lines if x.unit.startswith("PUT/COPY/LIST")]
    work_files = [k for k in store.keys(PROCESSED) if k.startswith(f"work/{ITEM_ID}/")]
    assert puts.quantity == len(work_files) + 2
