"""The few fields of the intake gate's ItemPlan the job needs (extra fields are ignored).

A copy, not an import of `pipeline.models`: the container only gets `processing/`.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Modality = Literal["image", "audio", "video", "text", "document", "captions"]


class PlanError(Exception):
    """plan.json is missing or invalid, or an asset path is unsafe."""


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class PlanSource(_Lenient):
    bucket: str = ""
    key: str = ""
    version_id: str | None = None


class PlanAsset(_Lenient):
    asset_id: str = ""
    path: str
    modality: Modality
    media_format: str = ""
    role: str = "primary"
    syncs_with: str | None = None
    source: PlanSource = PlanSource()
    has_audio: bool = False
    has_video: bool = False


class JobPlan(_Lenient):
    item_id: str
    kind: Literal["object", "bundle"] = "object"
    source: PlanSource = PlanSource()
    assets: list[PlanAsset] = Field(default_factory=list)


def load_plan(path: Path) -> JobPlan:
    try:
        return JobPlan.model_validate_json(path.read_bytes())
    except FileNotFoundError as exc:
        raise PlanError(f"no plan at {path}") from exc
    except ValueError as exc:
        raise PlanError(f"invalid plan {path}: {exc}") from exc


def asset_file(media_root: Path, asset: PlanAsset) -> Path:
    """Where an asset's file is inside `media/`: `media/<asset.path>`.

    For a single-object item `asset.path` is the object's file name; when it is not there,
    the basename of its S3 key is tried. Absolute paths and `..` are refused.
    """
    rel = PurePosixPath(asset.path)
    if rel.is_absolute() or ".." in rel.parts or not rel.parts:
        raise PlanError(f"unsafe asset path {asset.path!r}")
    candidate = media_root.joinpath(*rel.parts)
    if not candidate.exists() and asset.source.key:
        by_key = media_root / PurePosixPath(asset.source.key).name
        if by_key.exists():
            return by_key
    return candidate
