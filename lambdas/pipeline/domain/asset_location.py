"""Locating a bundle's assets: every path its manifest lists, as an object in the bundle folder.

Keys are byte-exact but file names are not: a name may arrive in another Unicode
normalisation form (`listed_object`), which the bundle-file step (`bundle_files`) relies on
too. A path not found is a MISSING_ASSET rejection naming the first one.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from pipeline.adapters.storage import ObjectMissing, ObjectStore
from pipeline.domain.intake_rejection import RejectedError, quote_path
from pipeline_contracts.item import ObjectRef, RejectionCode
from pipeline_contracts.manifest import Manifest, ManifestAsset
from pipeline_contracts.vocabulary import Relation, Role


@dataclass(frozen=True)
class Wanted:
    """One file to inspect, and what the manifest says about it."""

    ref: ObjectRef
    path: str
    role: Role = "primary"
    relation: Relation | None = None
    syncs_with: str | None = None
    size: int | None = None
    warning: str | None = None


def locate_assets(store: ObjectStore, bucket: str, prefix: str, manifest: Manifest) -> list[Wanted]:
    """Every listed asset must exist under the bundle folder; report the first missing."""
    wanted: list[Wanted] = []
    missing: list[str] = []
    for entry in manifest.assets:
        found = _find_asset(store, bucket, prefix, entry)
        if found is None:
            missing.append(entry.path)
        else:
            wanted.append(found)
    if missing:
        others = len(missing) - 1
        more = f" and {others} other listed asset{'s' if others > 1 else ''}" if others else ""
        raise RejectedError(
            RejectionCode.MISSING_ASSET,
            f"The manifest lists {quote_path(missing[0])}{more}, but no such file is in the bundle "
            f"folder {prefix}; upload the missing files, then the manifest again.",
            missing[0],
        )
    return wanted


def _find_asset(
    store: ObjectStore, bucket: str, prefix: str, entry: ManifestAsset
) -> Wanted | None:
    found = listed_object(store, bucket, prefix, entry.path)
    if found is None:
        return None
    key, size = found
    warning = None
    if key != prefix + entry.path:
        warning = "The file was found under a differently normalised Unicode name."
    return Wanted(
        ref=ObjectRef(bucket=bucket, key=key),
        path=entry.path,
        role=entry.role,
        relation=entry.relation,
        syncs_with=entry.syncs_with,
        size=size,
        warning=warning,
    )


def listed_object(
    store: ObjectStore, bucket: str, prefix: str, path: str
) -> tuple[str, int] | None:
    """The key a manifest's `path` names in its bundle folder, and its size: the path as
    written, else its NFC, then its NFD form (keys are byte-exact, but macOS uploads file
    names decomposed). None when no form exists."""
    forms = [unicodedata.normalize(form, path) for form in ("NFC", "NFD")]
    for candidate in dict.fromkeys([path, *forms]):
        try:
            return prefix + candidate, store.size(ObjectRef(bucket=bucket, key=prefix + candidate))
        except ObjectMissing:
            continue
    return None
