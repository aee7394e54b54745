"""The job's input: the intake gate's `ItemPlan` (plan.json), read with the very model the
intake wrote it with (`pipeline_contracts`, installed in the job from its wheelhouse), and
where each asset's file is among the staged media.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from pipeline_contracts.item import Asset, ItemPlan
from pipeline_contracts.manifest import check_relative_path


class PlanError(Exception):
    """plan.json is missing or invalid, or an asset path is unsafe."""


def load_plan(path: Path) -> ItemPlan:
    try:
        return ItemPlan.model_validate_json(path.read_bytes())
    except FileNotFoundError as exc:
        raise PlanError(f"no plan at {path}") from exc
    except ValueError as exc:
        raise PlanError(f"invalid plan {path}: {exc}") from exc


def asset_file(media_root: Path, asset: Asset) -> Path:
    """Where an asset's file is inside `media/`: `media/<asset.path>`.

    For a single-object item `asset.path` is the object's file name; when it is not there,
    the basename of its S3 key is tried. Unsafe paths are refused (the manifest's own rule).
    """
    try:
        check_relative_path(asset.path)
    except ValueError as exc:
        raise PlanError(f"unsafe asset path {asset.path!r}: {exc}") from exc
    candidate = media_root.joinpath(*PurePosixPath(asset.path).parts)
    if not candidate.exists() and asset.source.key:
        by_key = media_root / PurePosixPath(asset.source.key).name
        if by_key.exists():
            return by_key
    return candidate
