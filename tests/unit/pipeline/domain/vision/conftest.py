"""Fixtures for the vision, fusion and final-gate tests: real images, plans and stores."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from PIL import Image

from pipeline.config import PipelineConfig
from pipeline.observability import metrics
from pipeline_contracts.item import Asset, BranchPlan, ItemPlan, ObjectRef
from tests.fakes import InMemoryObjectStore, plan_fields

INGEST = "ingest-bucket"
PROCESSED = "processed-bucket"
ITEM_ID = "item-1"
WORK = f"work/{ITEM_ID}/"
PLAN_URI = f"s3://{PROCESSED}/{WORK}plan.json"

VALID_ANALYSIS = {
    "summary": "A blue kettle on a wooden table.",
    "objects": ["kettle", "table"],
    "text_in_media": None,
    "tags": ["kitchen", "appliance"],
    "safety_concerns": [],
    "relation_to_text": "The description matches the photo.",
}

_FORMATS = {
    "image": ("image/jpeg",),
    "text": ("text/plain",),
    "captions": ("text/vtt",),
    "document": ("application/pdf",),
    "video": ("video/mp4",),
}


def jpeg(image: Image.Image, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", **params)
    return buffer.getvalue()


def rgb(image: Image.Image, xy: tuple[int, int]) -> tuple[int, ...]:
    pixel = image.getpixel(xy)
    assert isinstance(pixel, tuple)
    return pixel


def png(image: Image.Image, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", **params)
    return buffer.getvalue()


@pytest.fixture
def store() -> InMemoryObjectStore:
    return InMemoryObjectStore()


@pytest.fixture
def config() -> PipelineConfig:
    return PipelineConfig()


@pytest.fixture(autouse=True)
def fresh_metrics() -> Iterator[None]:
    metrics.clear_metrics()
    yield
    metrics.clear_metrics()


AddAsset = Callable[..., Asset]


def _put_plan(store: InMemoryObjectStore, assets: list[Asset], profile: str) -> ItemPlan:
    plan = ItemPlan(
        item_id=ITEM_ID,
        kind="bundle",
        source=ObjectRef(bucket=INGEST, key="incoming/bundles/b1/manifest.json"),
        accepted=True,
        profile=profile,
        assets=assets,
        branches=BranchPlan(vision=[a for a in assets if a.modality != "text"]),
        **plan_fields(ITEM_ID, work_prefix=WORK, plan_uri=PLAN_URI),
    )
    store.put(PROCESSED, f"{WORK}plan.json", plan.model_dump_json().encode())
    return plan


@pytest.fixture
def add_asset(store: InMemoryObjectStore) -> AddAsset:
    """Upload a file to the ingest bucket and describe it as the intake gate would, in the
    item's plan (every asset added so far; `write_plan` writes another one)."""
    added: list[Asset] = []

    def add(path: str, body: bytes, modality: str, media_format: str, **fields: object) -> Asset:
        ref = store.put(INGEST, f"incoming/bundles/b1/{path}", body)
        values: dict[str, object] = {
            "asset_id": "a1-" + hashlib.sha256(path.encode()).hexdigest()[:12],
            "path": path,
            "source": ref,
            "modality": modality,
            "media_format": media_format,
            "mime_type": _FORMATS.get(modality, ("application/octet-stream",))[0],
            "size_bytes": max(1, len(body)),
        }
        values.update(fields)
        asset = Asset.model_validate(values)
        added.append(asset)
        _put_plan(store, added, "general")
        return asset

    return add


WritePlan = Callable[..., ItemPlan]


@pytest.fixture
def write_plan(store: InMemoryObjectStore) -> WritePlan:
    """Write the item's plan where the intake handler puts it."""

    def write(assets: list[Asset], profile: str = "general") -> ItemPlan:
        return _put_plan(store, assets, profile)

    return write


def iteration(asset: Asset, profile: str = "general") -> dict[str, object]:
    """The vision Map's ItemSelector output for one asset: its id, not the asset."""
    return {
        "asset_id": asset.asset_id,
        "item_id": ITEM_ID,
        "profile": profile,
        "plan_uri": PLAN_URI,
        "work_prefix": WORK,
    }


def stored_json(store: InMemoryObjectStore, uri: str | None) -> Any:
    assert uri is not None, "no URI"
    bucket, key = uri[5:].split("/", 1)
    return json.loads(store.body(bucket, key))
