"""Upload planning: which files of the given paths become which objects in the ingest bucket.

Kept apart from the run so the plan (bundles, manifests last, symlinks refused) is plain file
logic, with no AWS in it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pipeline.domain.dispatch import is_os_metadata

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Upload:
    """One object put into the ingest bucket. `starts_item` for inputs (a loose file, a
    bundle's manifest); a bundle file's execution only finds the manifest that takes it."""

    path: Path
    key: str
    starts_item: bool


@dataclass(frozen=True)
class UploadPlan:
    uploads: list[Upload]
    # Symlinks that lead outside their folder: never followed, never uploaded.
    skipped: list[str] = field(default_factory=list)


def _inside(path: Path, folder: Path) -> bool:
    """A symlink is followed only when it resolves inside `folder`."""
    return path.resolve().is_relative_to(folder.resolve())


def plan_uploads(paths: list[Path], ingest_prefix: str, bundle_prefix: str) -> UploadPlan:
    """Files become items; a folder with manifest.json is one bundle (manifest uploaded last);
    a folder without one contributes its files and bundle sub-folders."""
    uploads: list[Upload] = []
    skipped: list[str] = []
    used: set[str] = set()

    def unique(key: str) -> str:
        stem, dot, suffix = key.rpartition(".")
        candidate, n = key, 1
        while candidate in used:
            n += 1
            candidate = f"{stem}-{n}.{suffix}" if dot else f"{key}-{n}"
        used.add(candidate)
        return candidate

    def add_bundle(folder: Path) -> None:
        prefix = unique(f"{bundle_prefix}{folder.name}") + "/"
        files = sorted(p for p in folder.rglob("*") if p.is_file() and not is_os_metadata(p.name))
        for path in files:
            if path == folder / MANIFEST:
                continue
            if not _inside(path, folder):
                skipped.append(f"{path}: a symlink to {path.resolve()}, outside {folder}")
                continue
            uploads.append(Upload(path, prefix + path.relative_to(folder).as_posix(), False))
        uploads.append(Upload(folder / MANIFEST, prefix + MANIFEST, True))

    for path in paths:
        if path.is_dir() and (path / MANIFEST).is_file():
            add_bundle(path)
        elif path.is_dir():
            for child in sorted(path.iterdir()):
                if not _inside(child, path):
                    skipped.append(f"{child}: a symlink to {child.resolve()}, outside {path}")
                elif child.is_dir() and (child / MANIFEST).is_file():
                    add_bundle(child)
                elif (
                    child.is_file()
                    and not child.name.startswith(".")
                    and not is_os_metadata(child.name)
                ):
                    uploads.append(Upload(child, unique(ingest_prefix + child.name), True))
        elif path.is_file():
            uploads.append(Upload(path, unique(ingest_prefix + path.name), True))
        else:
            raise FileNotFoundError(f"no such file or folder: {path}")
    return UploadPlan(uploads, skipped)


def plan_tree_uploads(root: Path, ingest_prefix: str, bundle_prefix: str) -> UploadPlan:
    """`root` laid out as the ingest prefix is: every file goes to the key its path names
    (bundles/..., nested folders, odd names), manifests last, as a careful user uploads."""
    uploads: list[Upload] = []
    skipped: list[str] = []
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not is_os_metadata(p.name)):
        if not _inside(path, root):
            skipped.append(f"{path}: a symlink to {path.resolve()}, outside {root}")
            continue
        key = ingest_prefix + path.relative_to(root).as_posix()
        bundle_file = key.startswith(bundle_prefix) and path.name != MANIFEST
        uploads.append(Upload(path, key, not bundle_file))
    uploads.sort(key=lambda u: u.path.name == MANIFEST)
    return UploadPlan(uploads, skipped)
