"""The job's input: the intake gate's `ItemPlan` (plan.json), read with the very model the
intake wrote it with (`pipeline_contracts`, installed in the job from its wheelhouse), and
where each asset's file is among the staged media.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from pipeline_contracts.item import Asset, ItemPlan


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

    For a single-object item `asset.path` is the object's file name (any name S3 takes, such
    as "5:00pm.mp4"); when it is not there, the basename of its S3 key is tried. A bundle's
    paths passed the manifest's safe-path rule at intake; here, whatever the kind, a path that
    would reach outside `media/` is refused.
    """
    relative = PurePosixPath(asset.path)
    candidate = media_root.joinpath(*relative.parts)
    inside = candidate.resolve().is_relative_to(media_root.resolve())
    if relative.is_absolute() or ".." in relative.parts or not relative.parts or not inside:
        raise PlanError(f"unsafe asset path {asset.path!r}: it leaves the media folder")
    if not candidate.exists() and asset.source.key:
        by_key = media_root / PurePosixPath(asset.source.key).name
        if by_key.exists():
            return by_key
    return candidate
