"""The plan in S3 and its summary in the state: ids and URIs travel, assets and vocabulary stay."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from pipeline.adapters.storage import ObjectMissing
from pipeline.domain.plans import find_asset, load_asset, load_plan
from pipeline.errors import AssetNotInPlan
from pipeline_contracts.item import (
    Asset,
    BranchPlan,
    ItemPlan,
    ObjectRef,
    PlanSummary,
    Rejection,
    RejectionCode,
)
from tests.fakes import InMemoryObjectStore, plan_fields

PLAN_URI = "s3://processed/work/b1/plan.json"


def _asset(number: int, modality: str, media_format: str) -> Asset:
    return Asset(
        asset_id=f"a1-{number:012d}",
        path="/".join(["d" * 120] * 3) + f"/{'n' * 100}-{number:02d}.{media_format}",
        source=ObjectRef(bucket="in", key=f"incoming/bundles/b1/{number}", version_id="v1"),
        modality=modality,  # type: ignore[arg-type]
        media_format=media_format,
        mime_type="application/octet-stream",
        size_bytes=1000,
    )


def _plan() -> ItemPlan:
    audio = [_asset(n, "audio", "wav") for n in range(17)]
    images = [_asset(n, "image", "png") for n in range(17, 50)]
    return ItemPlan(
        item_id="b1",
        kind="bundle",
        source=ObjectRef(bucket="in", key="incoming/bundles/b1/manifest.json"),
        accepted=True,
        language="en-US",
        vocabulary=[f"phrase-{n:04d}-" + "x" * 33 for n in range(1000)],
        assets=[*audio, *images],
        branches=BranchPlan(audio=audio, vision=images, alignment=True),
        **plan_fields("b1", plan_uri=PLAN_URI),
    )


def test_the_summary_carries_ids_and_uris_not_assets_or_vocabulary():
    # Given the plan of a bundle at the documented limits (50 assets, 500-character paths,
    # a 46 KB vocabulary): over 100 KB of JSON
    plan = _plan()
    assert len(plan.model_dump_json()) > 100_000

    # When it is summarised for the state
    summary = PlanSummary.of(plan)

    # Then the summary names each branch's assets by id, with what the ASL routes on
    assert [task.asset_id for task in summary.branches.audio] == [
        a.asset_id for a in plan.branches.audio
    ]
    assert {task.media_format for task in summary.branches.audio} == {"wav"}
    assert summary.branches.alignment is True
    assert (summary.plan_uri, summary.language) == (PLAN_URI, "en-US")
    # And carries no paths and no vocabulary: a few KB, whatever the paths and phrases
    dumped = summary.model_dump_json()
    assert "phrase-0000" not in dumped
    assert "d" * 120 not in dumped
    assert len(dumped) < 8_000


def test_the_state_carries_a_summary_never_the_whole_plan():
    # Given a rejected ItemPlan, dumped in full
    rejected = ItemPlan(
        item_id="f1",
        kind="object",
        source=ObjectRef(bucket="in", key="incoming/bundles/x/stray.png"),
        accepted=False,
        rejection=Rejection(code=RejectionCode.UNSUPPORTED_TYPE, message="Not a bundle file."),
        **plan_fields("f1"),
    )

    # Then a step that takes a summary refuses the whole plan (it is a payload, not a
    # summary), and takes its summary
    with pytest.raises(ValidationError):
        PlanSummary.model_validate(rejected.model_dump(mode="json"))
    summary = PlanSummary.model_validate(PlanSummary.of(rejected).model_dump(mode="json"))
    assert summary.rejection is not None
    assert summary.rejection.code == RejectionCode.UNSUPPORTED_TYPE
    assert summary.branches.audio == []


def test_an_iteration_reads_its_asset_from_the_plan():
    # Given the plan where the intake gate wrote it
    store = InMemoryObjectStore()
    plan = _plan()
    store.put("processed", "work/b1/plan.json", json.dumps(plan.model_dump(mode="json")).encode())
    wanted = plan.branches.vision[3]

    # When an iteration asks for its asset by id
    loaded, asset = load_asset(store, PLAN_URI, wanted.asset_id)

    # Then it has the whole asset and the plan's language and vocabulary
    assert asset == wanted
    assert loaded.vocabulary == plan.vocabulary


def test_an_asset_not_in_the_plan_or_a_missing_plan_fail_the_iteration():
    # Given a plan, and an id it does not list
    plan = _plan()
    # When / Then: the typed error names the asset and the item
    with pytest.raises(AssetNotInPlan, match="a1-999999999999 is not in the plan of item b1"):
        find_asset(plan, "a1-999999999999")
    # And a plan that was never written is a missing object, not an empty plan
    with pytest.raises(ObjectMissing):
        load_plan(InMemoryObjectStore(), PLAN_URI)
