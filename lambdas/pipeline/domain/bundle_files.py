"""Which bundle takes a file under the bundle prefix, or why none does.

Every object under the ingest prefix starts an execution. For a file under the bundle
prefix that is not a `manifest.json`, the execution asks: does a manifest in this folder, or
in a folder above it, list the file? If one does, the bundle's own record accounts for the
file and this execution ends without one. If the manifest has not arrived, the execution
waits (`bundle_manifest_wait_s`) and asks once more; a file that no manifest takes then ends
quarantined with a reason, so nothing under the ingest prefix is silently skipped.

This only decides membership. Whether the manifest itself is valid is the bundle's own
intake's business: a file in a folder whose manifest cannot be read is left to that
bundle's quarantine record.
"""

from __future__ import annotations

import json
import posixpath
import unicodedata
from dataclasses import dataclass

from pipeline.adapters.storage import ObjectMissing, ObjectStore
from pipeline.config import PipelineConfig
from pipeline.domain.asset_location import listed_object
from pipeline.domain.plan_fields import rejected_plan
from pipeline_contracts.item import ItemRequest, ObjectRef, PlanSummary, Rejection, RejectionCode
from pipeline_contracts.manifest import MANIFEST_FILE_NAME
from pipeline_contracts.states.find_the_files_manifest import (
    FindManifestInput,
    FindManifestOutput,
    Verdict,
)


@dataclass(frozen=True)
class BundleFileVerdict:
    """The answer for one bundle file; `rejection` is set when the file must be quarantined."""

    verdict: Verdict
    manifest_key: str | None = None
    rejection: Rejection | None = None


_SHOWN_PATH = 200


def find_manifest(
    given: FindManifestInput,
    store: ObjectStore,
    config: PipelineConfig,
    ingest_bucket: str,
    processed_bucket: str,
) -> FindManifestOutput:
    """The state's answer: the verdict, and for a file no bundle takes, the rejected plan
    "Quarantine item" records."""
    judged = judge_bundle_file(given.request, store, config, waited=given.waited)
    plan = None
    if judged.rejection is not None:
        rejected = rejected_plan(
            given.request, judged.rejection, config, ingest_bucket, processed_bucket
        )
        plan = PlanSummary.of(rejected)
    return FindManifestOutput(verdict=judged.verdict, manifest_key=judged.manifest_key, plan=plan)


def judge_bundle_file(
    request: ItemRequest, store: ObjectStore, config: PipelineConfig, *, waited: bool
) -> BundleFileVerdict:
    """Find the manifest that takes `request.source`; `waited` says the wait is over.

    Before the wait only a settled answer is given (listed, or a manifest no name fixes):
    a file not listed yet may be waiting for a new manifest of its own, or for a new version
    of the one above it, so it is judged after the wait, once."""
    key = request.source.key
    folder, _, name = key.rpartition("/")
    if name.casefold() == MANIFEST_FILE_NAME and name != MANIFEST_FILE_NAME:
        return _rejected(
            "misnamed_manifest",
            RejectionCode.MISNAMED_MANIFEST,
            f"The bundle manifest is named {name!r}; S3 keys are case-sensitive, so upload it "
            f"as {MANIFEST_FILE_NAME!r} (lower case), after the assets.",
            key,
        )
    folders = _folders_up_to(folder, config.bundle_prefix)
    if not folders:
        return _rejected(
            "no_manifest",
            RejectionCode.MANIFEST_MISSING,
            f"The file is directly under {config.bundle_prefix}, where no bundle can take it: "
            "a bundle is a folder (bundles/<name>/ with its manifest.json); put single files "
            "directly under the ingest prefix.",
            key,
        )
    seen_manifest: str | None = None
    for manifest_folder in folders:
        manifest_key = f"{manifest_folder}/{MANIFEST_FILE_NAME}"
        ref = ObjectRef(bucket=request.source.bucket, key=manifest_key)
        paths = _listed_paths(store, ref, config.limits.max_manifest_bytes)
        if isinstance(paths, _Absent):
            continue
        if paths is None:
            return BundleFileVerdict(verdict="bundle_rejected", manifest_key=manifest_key)
        if _taken(store, request.source.bucket, manifest_folder, key, paths):
            return BundleFileVerdict(verdict="listed", manifest_key=manifest_key)
        seen_manifest = seen_manifest or manifest_key
    if not waited:
        return BundleFileVerdict(
            verdict="not_listed" if seen_manifest else "no_manifest", manifest_key=seen_manifest
        )
    if seen_manifest is not None:
        return _rejected(
            "not_listed",
            RejectionCode.NOT_IN_MANIFEST,
            f"The file is in a bundle folder, but {seen_manifest} does not take it (it is not "
            "listed, or another file under the same name in another Unicode form is); add it "
            "to the manifest and upload the manifest again, or move the file out of the "
            "bundle folder.",
            key,
            seen_manifest,
        )
    return _rejected(
        "no_manifest",
        RejectionCode.MANIFEST_MISSING,
        f"No {MANIFEST_FILE_NAME} arrived in {_shown(folder)}/ or a folder above it within "
        f"{_duration(config.bundle_manifest_wait_s)} of this file; upload the manifest (last, "
        "after its assets), or put single files directly under the ingest prefix.",
        key,
    )


def _rejected(
    verdict: Verdict, code: RejectionCode, message: str, key: str, manifest: str | None = None
) -> BundleFileVerdict:
    return BundleFileVerdict(
        verdict=verdict,
        manifest_key=manifest,
        rejection=Rejection(code=code, message=message, asset_path=_shown(key)),
    )


def _taken(store: ObjectStore, bucket: str, folder: str, key: str, paths: list[str]) -> bool:
    """Does the bundle's intake take this very object for one of its listed paths? Of two
    Unicode forms of one name, intake takes the first it finds (`listed_object`)."""
    relative = key[len(folder) + 1 :]
    for path in paths:
        if _nfc(path) == _nfc(relative):
            found = listed_object(store, bucket, f"{folder}/", path)
            if found is not None and found[0] == key:
                return True
    return False


def _folders_up_to(folder: str, bundle_prefix: str) -> list[str]:
    """The file's folder, then each folder above it, down to one level under the prefix."""
    top = len(bundle_prefix.rstrip("/"))
    folders: list[str] = []
    while len(folder) > top:
        folders.append(folder)
        folder = posixpath.dirname(folder)
    return folders


class _Absent:
    pass


_ABSENT = _Absent()


def _listed_paths(store: ObjectStore, ref: ObjectRef, max_bytes: int) -> list[str] | _Absent | None:
    """The manifest's asset paths; None if it exists but cannot be read as a manifest."""
    try:
        data = store.read_bytes(ref, max_bytes=max_bytes + 1)
    except ObjectMissing:
        return _ABSENT
    if len(data) > max_bytes:
        return None
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (ValueError, RecursionError):
        return None
    assets = document.get("assets") if isinstance(document, dict) else None
    if not isinstance(assets, list):
        return None
    return [a["path"] for a in assets if isinstance(a, dict) and isinstance(a.get("path"), str)]


def _nfc(path: str) -> str:
    return unicodedata.normalize("NFC", path)


def _shown(path: str) -> str:
    return path if len(path) <= _SHOWN_PATH else path[: _SHOWN_PATH - 3] + "..."


def _duration(seconds: int) -> str:
    if seconds % 3600 == 0 and seconds >= 3600:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0 and seconds >= 60:
        return f"{seconds // 60} min"
    return f"{seconds} s"
