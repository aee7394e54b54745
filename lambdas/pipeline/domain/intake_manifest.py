"""Reading a bundle's manifest.json: the bytes within limits, JSON without duplicate keys,
no unsafe path, the manifest model, and what it hands on within the limits of where it goes.

Every refusal is a `RejectedError` naming the manifest, with one human sentence (a pydantic
error is summarised, never shown whole). Apart from the gate's planning (`intake`) because
it is about one file, before any asset is looked for.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import ValidationError

from pipeline.adapters.speech import TRANSCRIBE_MAX_VOCABULARY_BYTES
from pipeline.adapters.storage import ObjectMissing, ObjectStore
from pipeline.config import Limits
from pipeline.domain.intake_rejection import RejectedError, quote_path
from pipeline.domain.transcription import vocabulary_bytes
from pipeline_contracts.item import ObjectRef, RejectionCode
from pipeline_contracts.manifest import MANIFEST_FILE_NAME, Manifest, check_relative_path

_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:")


def read_manifest(store: ObjectStore, ref: ObjectRef, limits: Limits) -> Manifest:
    where = MANIFEST_FILE_NAME
    try:
        size = store.size(ref)
        data = b"" if size == 0 else store.read_bytes(ref, max_bytes=limits.max_manifest_bytes + 1)
    except ObjectMissing as missing:
        raise RejectedError(
            RejectionCode.OBJECT_NOT_FOUND,
            f"The manifest {ref.uri} no longer exists (it was deleted before processing); "
            "upload it again.",
            where,
        ) from missing
    if not data:
        raise RejectedError(
            RejectionCode.EMPTY_OBJECT,
            "The manifest is empty (0 bytes); upload a manifest.json that lists the assets.",
            where,
        )
    if len(data) > limits.max_manifest_bytes or size > limits.max_manifest_bytes:
        raise RejectedError(
            RejectionCode.TOO_LARGE,
            f"The manifest is over the limit of {limits.max_manifest_bytes:,} bytes; "
            "list fewer assets or shorter vocabulary.",
            where,
        )
    document = _parse_json(data)
    unsafe = _first_unsafe_path(document)
    if unsafe is not None:
        raise RejectedError(
            RejectionCode.UNSAFE_PATH,
            f"The manifest names the unsafe path {quote_path(unsafe)}; asset paths must be "
            "relative to the bundle folder, without '..', a leading '/', a drive letter or "
            "control characters.",
            unsafe[:512],
        )
    raw_assets = document.get("assets") if isinstance(document, dict) else None
    if isinstance(raw_assets, list) and len(raw_assets) > limits.max_bundle_assets:
        raise RejectedError(
            RejectionCode.TOO_MANY_ASSETS,
            f"The manifest lists {len(raw_assets)} assets, over the limit of "
            f"{limits.max_bundle_assets}; split the bundle into smaller ones.",
            where,
        )
    try:
        manifest = Manifest.model_validate(document)
    except ValidationError as error:
        raise RejectedError(RejectionCode.INVALID_MANIFEST, _summarise(error), where) from error
    _check_carried_sizes(manifest, limits)
    return manifest


def _check_carried_sizes(manifest: Manifest, limits: Limits) -> None:
    """What the manifest hands on (paths into the plan and records, the vocabulary to
    Transcribe) within the limits of where it goes, so it fails here and not after a wait."""
    path_bytes = sum(
        len(path.encode("utf-8"))
        for asset in manifest.assets
        for path in (asset.path, asset.syncs_with)
        if path is not None
    )
    if path_bytes > limits.max_bundle_path_bytes:
        raise RejectedError(
            RejectionCode.PATHS_TOO_LONG,
            f"The manifest's asset paths add up to {path_bytes:,} bytes, over the limit of "
            f"{limits.max_bundle_path_bytes:,}; use shorter file and folder names, or split "
            "the bundle.",
            MANIFEST_FILE_NAME,
        )
    vocabulary = vocabulary_bytes(manifest.vocabulary or [])
    if vocabulary > TRANSCRIBE_MAX_VOCABULARY_BYTES:
        raise RejectedError(
            RejectionCode.VOCABULARY_TOO_LARGE,
            f"The vocabulary is {vocabulary:,} bytes as sent to Amazon Transcribe, over its "
            f"limit of {TRANSCRIBE_MAX_VOCABULARY_BYTES:,} bytes (50 KB); keep only the names "
            "and terms the audio uses.",
            MANIFEST_FILE_NAME,
        )


def _parse_json(data: bytes) -> Any:
    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [key for key, _ in pairs]
        duplicates = sorted({key for key in keys if keys.count(key) > 1})
        if duplicates:
            raise ValueError(f"duplicate key {quote_path(duplicates[0])}")
        return dict(pairs)

    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise RejectedError(
            RejectionCode.INVALID_MANIFEST,
            f"The manifest is not UTF-8 (byte {error.start}); save it as UTF-8 JSON and "
            "upload it again.",
            MANIFEST_FILE_NAME,
        ) from error
    try:
        return json.loads(text, object_pairs_hook=no_duplicates)
    except json.JSONDecodeError as error:
        detail = f"{error.msg} at line {error.lineno}, column {error.colno}"
    except (ValueError, RecursionError) as error:
        detail = str(error) if isinstance(error, ValueError) else "nested too deeply"
    raise RejectedError(
        RejectionCode.INVALID_MANIFEST,
        f"The manifest is not valid JSON ({detail}); fix it and upload it again.",
        MANIFEST_FILE_NAME,
    )


def _first_unsafe_path(document: Any) -> str | None:
    """Absolute paths, parent references, drive letters, URLs and control characters."""
    if not isinstance(document, dict) or not isinstance(document.get("assets"), list):
        return None
    for entry in document["assets"]:
        if not isinstance(entry, dict):
            continue
        for key in ("path", "syncs_with"):
            value = entry.get(key)
            if isinstance(value, str) and _is_unsafe(value):
                return value
    return None


def _is_unsafe(path: str) -> bool:
    """Of the paths the one safe-path rule refuses (`check_relative_path`, which validating the
    manifest applies to every path), those that reach outside the bundle folder: they get
    UNSAFE_PATH, the rule's other refusals ("./a", "a//b", " a", the manifest itself) get
    INVALID_MANIFEST."""
    try:
        check_relative_path(path)
    except ValueError:
        return _reaches_out(path)
    return False


def _reaches_out(path: str) -> bool:
    if path.startswith(("/", "\\")) or _WINDOWS_DRIVE.match(path) or "://" in path:
        return True
    if any(ord(char) < 32 or ord(char) == 127 for char in path):
        return True
    return ".." in re.split(r"[/\\]", path)


def _summarise(error: ValidationError) -> str:
    """The first pydantic error as part of one sentence, with a count of the others."""
    problems = error.errors(include_url=False, include_input=False)
    first = problems[0]
    loc = [str(part)[:60] for part in first["loc"]]
    if first["type"] == "extra_forbidden" and loc:
        where, what = _location(first["loc"][:-1]), f"unknown key {quote_path(loc[-1])}"
    elif first["type"] == "missing" and loc:
        where, what = _location(first["loc"][:-1]), f"missing required key {quote_path(loc[-1])}"
    elif first["type"] in ("model_type", "model_attributes_type", "dict_type"):
        where, what = _location(first["loc"]), "expected a JSON object"
    else:
        where = _location(first["loc"])
        what = str(first["msg"]).removeprefix("Value error, ")
    what = " ".join(what.split())[:240]
    others = len(problems) - 1
    more = f" (and {others} more problem{'s' if others > 1 else ''})" if others else ""
    return f"The manifest is invalid at {where}: {what}{more}; fix it and upload it again."


def _location(loc: tuple[int | str, ...]) -> str:
    text = "the top level"
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        else:
            parts.append(("." if parts else "") + str(part)[:60])
    return "".join(parts) or text
