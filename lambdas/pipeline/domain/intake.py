"""The intake gate: sniff, validate and decode-check an item, then plan its branches.

`plan_item` answers with an `ItemPlan`: accepted with its assets and branch plan, or
rejected with a reason code and one human sentence (an expected outcome, returned, not
raised). Transient storage errors (ServiceThrottled, ServiceUnavailable) propagate so the
state machine retries them.

What a later step would refuse after a wait is refused here, with its own code: text with
nothing visible once prepared (NO_CONTENT), audio below Transcribe's 8 kHz
(UNSUPPORTED_SAMPLE_RATE), a PDF over the model's 4.5 MB (TOO_LARGE; inside a bundle it is
kept, with the reason as a warning, and fails alone in its Map iteration so the bundle's other
assets still run), a vocabulary over Transcribe's 50 KB (VOCABULARY_TOO_LARGE), asset paths
over their byte budget (PATHS_TOO_LONG).

Reads are as small as the check allows: a ranged read of the first 64 KiB to sniff, the
whole object only for text (within the text limit), and a download to `scratch_dir` only
for the files a decoder must open (images, audio, video, PDF), deleted right after.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from pipeline.adapters.speech import TRANSCRIBE_MAX_VOCABULARY_BYTES, TRANSCRIBE_SAMPLE_RATES_HZ
from pipeline.adapters.storage import ObjectMissing, ObjectStore
from pipeline.config import Limits, PipelineConfig
from pipeline.domain.media_checks import (
    MediaCheckError,
    MediaInfo,
    check_captions,
    check_image,
    check_pdf,
    check_text,
    probe_av,
)
from pipeline.domain.media_preparation import (
    MAX_MODEL_DOCUMENT_BYTES,
    has_visible_text,
    readable_text,
)
from pipeline.domain.sniffing import (
    AV_CONTAINERS,
    SNIFF_BYTES,
    Sniffed,
    canonical_mime,
    check_extension,
    refine_text_format,
    sniff,
)
from pipeline.domain.transcription import vocabulary_bytes
from pipeline.models.item import (
    Asset,
    BranchPlan,
    ItemPlan,
    ItemRequest,
    ObjectRef,
    Rejection,
    RejectionCode,
)
from pipeline.models.manifest import (
    MANIFEST_FILE_NAME,
    Manifest,
    ManifestAsset,
    Relation,
    Role,
)

SUPPORTED_SUMMARY = (
    "JPEG, PNG, WebP, GIF, TIFF, WAV, MP3, FLAC, Ogg, M4A, MP4, MOV, WebM, MKV, "
    "UTF-8 text, Markdown, HTML, JSON, PDF, WebVTT or SRT"
)
_AUDIO_ONLY_FORMATS = frozenset({"wav", "mp3", "flac", "ogg"})
_NOT_SPOKEN_ROLES = frozenset({"captions", "transcript"})
_VISUAL = frozenset({"image", "video", "document"})
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:")
_MAX_PATH_IN_MESSAGE = 120
_EMPTY = "The file is empty (0 bytes); upload the complete file again."
_NO_CONTENT = {
    "html": "The HTML shows no text, only markup, scripts or styles; "
    "upload a page with visible text.",
    "webvtt": "The captions have no visible text in their cues; upload captions with words.",
    "srt": "The captions have no visible text in their cues; upload captions with words.",
}
_NO_VISIBLE_TEXT = (
    "The text has no visible characters, only whitespace, control or zero-width ones; "
    "upload a file with content."
)


class _RejectedError(Exception):
    """Internal: stop planning and answer with this rejection."""

    def __init__(self, code: RejectionCode, message: str, asset_path: str | None = None) -> None:
        super().__init__(message)
        self.rejection = Rejection(code=code, message=message, asset_path=asset_path)


@dataclass(frozen=True)
class _Wanted:
    """One file to inspect, and what the manifest says about it."""

    ref: ObjectRef
    path: str
    role: Role = "primary"
    relation: Relation | None = None
    syncs_with: str | None = None
    size: int | None = None
    warning: str | None = None


# --------------------------------------------------------------------------- entry point


def plan_item(
    request: ItemRequest,
    store: ObjectStore,
    config: PipelineConfig,
    processed_bucket: str,
    scratch_dir: Path,
) -> ItemPlan:
    """Inspect the item's object or bundle and plan which branches run."""
    work_prefix = f"work/{request.item_id}/"
    common: dict[str, Any] = {
        "item_id": request.item_id,
        "kind": request.kind,
        "source": request.source,
        "work_prefix": work_prefix,
        "plan_uri": f"s3://{processed_bucket}/{work_prefix}plan.json",
        "alignment_job_name": alignment_job_name(request.item_id),
    }
    try:
        if request.kind == "bundle":
            manifest = _read_manifest(store, request.source, config.limits)
            prefix = request.bundle_prefix or posixpath.dirname(request.source.key)
            prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"
            wanted = _locate_assets(store, request.source.bucket, prefix, manifest)
            assets = [_inspect(store, item, config.limits, scratch_dir, True) for item in wanted]
            manifest_fields: dict[str, Any] = {
                "profile": manifest.profile,
                "language": manifest.language,
                "vocabulary": manifest.vocabulary,
            }
        else:
            name = posixpath.basename(request.source.key.rstrip("/")) or request.source.key
            wanted_object = _Wanted(ref=request.source, path=name)
            assets = [_inspect(store, wanted_object, config.limits, scratch_dir, False)]
            manifest_fields = {}
    except _RejectedError as rejected:
        return ItemPlan(accepted=False, rejection=rejected.rejection, **common)
    branches = plan_branches(assets)
    unreadable = _over_model_limit(branches, assets)
    if unreadable is not None:
        return ItemPlan(accepted=False, rejection=unreadable, **common)
    return ItemPlan(
        accepted=True,
        assets=assets,
        branches=branches,
        **manifest_fields,
        **common,
    )


def _over_model_limit(branches: BranchPlan, assets: list[Asset]) -> Rejection | None:
    """A bundle keeps a PDF too large for the model so its other assets still run; when
    nothing else would be understood, the bundle is refused for it, as the object would be."""
    too_big = [
        a for a in assets if a.modality == "document" and a.size_bytes > MAX_MODEL_DOCUMENT_BYTES
    ]
    if not too_big or branches.audio or any(a not in too_big for a in branches.vision):
        return None
    return Rejection(
        code=RejectionCode.TOO_LARGE,
        message=f"{_quote(too_big[0].path)}: {_pdf_over_model_limit(too_big[0].size_bytes)}",
        asset_path=too_big[0].path[:512],
    )


def plan_branches(assets: list[Asset]) -> BranchPlan:
    """Audio: what can be transcribed. Vision: what the model looks at. Alignment: time/quality."""
    audio = [
        asset
        for asset in assets
        if asset.role not in _NOT_SPOKEN_ROLES
        and (asset.modality == "audio" or (asset.modality == "video" and asset.has_audio))
        and not _sampled_too_low(asset.sample_rate_hz)
    ]
    has_visual = any(asset.modality in _VISUAL for asset in assets)
    # Captions with nothing to be timed against are just text: the model reads them.
    has_timed = any(asset.modality in ("audio", "video") for asset in assets)
    vision = [
        asset
        for asset in assets
        if asset.modality in _VISUAL
        or (asset.modality == "text" and not has_visual)
        or (asset.modality == "captions" and not has_visual and not has_timed)
    ]
    alignment = any(asset.modality in ("audio", "video", "image") for asset in assets)
    return BranchPlan(audio=audio, vision=vision, alignment=alignment)


def asset_id_for(path: str) -> str:
    """Stable across retries and re-runs: a short hash of the asset's path."""
    return "a1-" + hashlib.sha256(path.encode("utf-8")).hexdigest()[:12]


def alignment_job_name(item_id: str) -> str:
    """Deterministic SageMaker job name (`^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$`)."""
    return "mmp-align-" + hashlib.sha256(item_id.encode("utf-8")).hexdigest()[:24]


# --------------------------------------------------------------------------- manifest


def _read_manifest(store: ObjectStore, ref: ObjectRef, limits: Limits) -> Manifest:
    where = MANIFEST_FILE_NAME
    try:
        size = store.size(ref)
        data = b"" if size == 0 else store.read_bytes(ref, max_bytes=limits.max_manifest_bytes + 1)
    except ObjectMissing as missing:
        raise _RejectedError(
            RejectionCode.OBJECT_NOT_FOUND,
            f"The manifest {ref.uri} no longer exists (it was deleted before processing); "
            "upload it again.",
            where,
        ) from missing
    if not data:
        raise _RejectedError(
            RejectionCode.EMPTY_OBJECT,
            "The manifest is empty (0 bytes); upload a manifest.json that lists the assets.",
            where,
        )
    if len(data) > limits.max_manifest_bytes or size > limits.max_manifest_bytes:
        raise _RejectedError(
            RejectionCode.TOO_LARGE,
            f"The manifest is over the limit of {limits.max_manifest_bytes:,} bytes; "
            "list fewer assets or shorter vocabulary.",
            where,
        )
    document = _parse_json(data)
    unsafe = _first_unsafe_path(document)
    if unsafe is not None:
        raise _RejectedError(
            RejectionCode.UNSAFE_PATH,
            f"The manifest names the unsafe path {_quote(unsafe)}; asset paths must be "
            "relative to the bundle folder, without '..', a leading '/', a drive letter or "
            "control characters.",
            unsafe[:512],
        )
    raw_assets = document.get("assets") if isinstance(document, dict) else None
    if isinstance(raw_assets, list) and len(raw_assets) > limits.max_bundle_assets:
        raise _RejectedError(
            RejectionCode.TOO_MANY_ASSETS,
            f"The manifest lists {len(raw_assets)} assets, over the limit of "
            f"{limits.max_bundle_assets}; split the bundle into smaller ones.",
            where,
        )
    try:
        manifest = Manifest.model_validate(document)
    except ValidationError as error:
        raise _RejectedError(RejectionCode.INVALID_MANIFEST, _summarise(error), where) from error
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
        raise _RejectedError(
            RejectionCode.PATHS_TOO_LONG,
            f"The manifest's asset paths add up to {path_bytes:,} bytes, over the limit of "
            f"{limits.max_bundle_path_bytes:,}; use shorter file and folder names, or split "
            "the bundle.",
            MANIFEST_FILE_NAME,
        )
    vocabulary = vocabulary_bytes(manifest.vocabulary or [])
    if vocabulary > TRANSCRIBE_MAX_VOCABULARY_BYTES:
        raise _RejectedError(
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
            raise ValueError(f"duplicate key {_quote(duplicates[0])}")
        return dict(pairs)

    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise _RejectedError(
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
    raise _RejectedError(
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
        where, what = _location(first["loc"][:-1]), f"unknown key {_quote(loc[-1])}"
    elif first["type"] == "missing" and loc:
        where, what = _location(first["loc"][:-1]), f"missing required key {_quote(loc[-1])}"
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


# --------------------------------------------------------------------------- bundle assets


def _locate_assets(
    store: ObjectStore, bucket: str, prefix: str, manifest: Manifest
) -> list[_Wanted]:
    """Every listed asset must exist under the bundle folder; report the first missing."""
    wanted: list[_Wanted] = []
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
        raise _RejectedError(
            RejectionCode.MISSING_ASSET,
            f"The manifest lists {_quote(missing[0])}{more}, but no such file is in the bundle "
            f"folder {prefix}; upload the missing files, then the manifest again.",
            missing[0],
        )
    return wanted


def _find_asset(
    store: ObjectStore, bucket: str, prefix: str, entry: ManifestAsset
) -> _Wanted | None:
    found = listed_object(store, bucket, prefix, entry.path)
    if found is None:
        return None
    key, size = found
    warning = None
    if key != prefix + entry.path:
        warning = "The file was found under a differently normalised Unicode name."
    return _Wanted(
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


# --------------------------------------------------------------------------- one asset


def _inspect(
    store: ObjectStore, wanted: _Wanted, limits: Limits, scratch_dir: Path, in_bundle: bool
) -> Asset:
    """Sniff and check one file; raise _RejectedError naming the asset when it fails."""
    asset_path = wanted.path if in_bundle else None
    missing_code = RejectionCode.MISSING_ASSET if in_bundle else RejectionCode.OBJECT_NOT_FOUND
    label = _quote(wanted.path)
    try:
        return _inspect_checked(store, wanted, limits, scratch_dir, in_bundle)
    except ObjectMissing as missing:
        raise _RejectedError(
            missing_code,
            f"The file {label} no longer exists (it was deleted before processing); "
            "upload it again.",
            asset_path,
        ) from missing
    except MediaCheckError as rejected:
        message = f"{label}: {rejected.message}"
        raise _RejectedError(rejected.code, message, asset_path) from rejected
    except _RejectedError as rejected:
        raise _RejectedError(
            rejected.rejection.code, f"{label}: {rejected.rejection.message}", asset_path
        ) from rejected


def _inspect_checked(
    store: ObjectStore, wanted: _Wanted, limits: Limits, scratch_dir: Path, in_bundle: bool
) -> Asset:
    ref = wanted.ref
    size = wanted.size if wanted.size is not None else store.size(ref)
    if size == 0:
        raise _RejectedError(RejectionCode.EMPTY_OBJECT, _EMPTY)
    if size > limits.max_media_bytes:
        raise _too_large(size, limits.max_media_bytes)
    head = store.read_bytes(ref, max_bytes=SNIFF_BYTES)
    if not head:
        raise _RejectedError(RejectionCode.EMPTY_OBJECT, _EMPTY)
    complete = len(head) >= size
    sniffed = sniff(head, truncated=not complete)
    _reject_mismatch(wanted.path, sniffed, provisional=True)
    modality = sniffed.modality
    if modality is None:
        raise _RejectedError(
            RejectionCode.UNSUPPORTED_TYPE,
            f"The content is {_describe(sniffed)}, which the pipeline does not accept; "
            f"convert it to one of {SUPPORTED_SUMMARY}.",
        )
    too_big_for_model = modality == "document" and size > MAX_MODEL_DOCUMENT_BYTES
    if too_big_for_model and not in_bundle:
        # Preparation passes a PDF to the model whole (it does not split pages).
        raise _RejectedError(RejectionCode.TOO_LARGE, _pdf_over_model_limit(size))
    asset_id = asset_id_for(wanted.path)
    info: MediaInfo
    if sniffed.modality in ("text", "captions"):
        if size > limits.max_text_bytes:
            raise _too_large(size, limits.max_text_bytes, "text ")
        data = head if complete else store.read_bytes(ref, max_bytes=limits.max_text_bytes + 1)
        if sniffed.modality == "captions":
            info = check_captions(data, sniffed.media_format, limits)
        else:
            info = check_text(data, limits)
            sniffed = refine_text_format(sniffed, info.text or "")
        # What preparation will hand the model: HTML without scripts, captions without timings.
        if not has_visible_text(readable_text(data, sniffed.media_format)[0]):
            raise _RejectedError(
                RejectionCode.NO_CONTENT, _NO_CONTENT.get(sniffed.media_format, _NO_VISIBLE_TEXT)
            )
    elif sniffed.modality == "document" and size > limits.max_image_bytes:
        # Not worth a download of this size just to look for the end-of-file marker.
        info = MediaInfo(warnings=["The PDF is too large for its structure to be checked here."])
    else:
        if sniffed.modality == "image" and size > limits.max_image_bytes:
            raise _too_large(size, limits.max_image_bytes, "image ")
        with _local_copy(
            store,
            ref,
            head=head,
            complete=complete,
            scratch_dir=scratch_dir,
            asset_id=asset_id,
            sniffed=sniffed,
        ) as local:
            if sniffed.modality == "image":
                info = check_image(local, sniffed.media_format, limits)
            elif sniffed.modality == "document":
                info = check_pdf(local)
            else:
                info = probe_av(local, sniffed.media_format, modality, limits)
                sniffed = _settle_av_modality(sniffed, info)
                _check_sample_rate(sniffed, info)
    modality = sniffed.modality or modality  # the probe may have settled audio vs video
    verdict = _reject_mismatch(wanted.path, sniffed, provisional=False)
    media_format = verdict.media_format or sniffed.media_format
    warnings = [w for w in (wanted.warning, verdict.warning) if w] + info.warnings
    if wanted.role == "captions" and sniffed.modality != "captions":
        warnings.append(f"The role is captions but the content is {sniffed.modality}.")
    if too_big_for_model:
        # In a bundle the others still run: this asset fails in its own iteration, saying so.
        warnings.append(_pdf_over_model_limit(size))
    return Asset(
        asset_id=asset_id,
        path=wanted.path,
        source=ref,
        modality=modality,
        media_format=media_format,
        mime_type=canonical_mime(modality, media_format),
        size_bytes=size,
        role=wanted.role,
        relation=wanted.relation,
        syncs_with=wanted.syncs_with,
        duration_s=info.duration_s,
        width=info.width,
        height=info.height,
        sample_rate_hz=info.sample_rate_hz,
        has_audio=info.has_audio,
        has_video=info.has_video,
        warnings=warnings,
    )


def _settle_av_modality(sniffed: Sniffed, info: MediaInfo) -> Sniffed:
    """The probe decides whether an mp4/mov/webm/mkv container is audio or video."""
    if sniffed.media_format in _AUDIO_ONLY_FORMATS:
        if not info.has_audio:
            raise MediaCheckError(
                RejectionCode.CORRUPT_MEDIA,
                f"The {sniffed.media_format} file has no audio stream; upload a file with sound.",
            )
        return sniffed
    if sniffed.media_format not in AV_CONTAINERS:
        return sniffed
    if info.has_video:
        media_format = "mp4" if sniffed.media_format == "m4a" else sniffed.media_format
        return replace(sniffed, modality="video", family="video", media_format=media_format)
    media_format = "m4a" if sniffed.media_format in ("mp4", "mov") else sniffed.media_format
    return replace(sniffed, modality="audio", family="audio", media_format=media_format)


def _sampled_too_low(rate: int | None) -> bool:
    return rate is not None and rate < TRANSCRIBE_SAMPLE_RATES_HZ[0]


def _check_sample_rate(sniffed: Sniffed, info: MediaInfo) -> None:
    """Below 8 kHz, Transcribe refuses the audio and resampling cannot bring back what was
    never recorded: audio is rejected, a video keeps its pictures without a transcript.
    Above 48 kHz, the "Extract audio track" step resamples it (audio_extraction.py)."""
    rate = info.sample_rate_hz
    if rate is None or not info.has_audio:
        return
    low, high = TRANSCRIBE_SAMPLE_RATES_HZ
    if _sampled_too_low(rate) and sniffed.modality == "audio":
        raise MediaCheckError(
            RejectionCode.UNSUPPORTED_SAMPLE_RATE,
            f"The audio is sampled at {rate:,} Hz, below the {low:,} Hz speech recognition "
            "needs (resampling cannot restore what was not recorded); upload a recording made "
            f"at {low // 1000} kHz or more.",
        )
    if _sampled_too_low(rate):
        info.warnings.append(
            f"The audio track is sampled at {rate:,} Hz, below the {low:,} Hz Amazon "
            "Transcribe takes, so it is not transcribed."
        )
    elif rate > high:
        info.warnings.append(
            f"The audio is sampled at {rate:,} Hz, above the {high:,} Hz Amazon Transcribe "
            f"takes; it is resampled to {high // 1000} kHz for transcription."
        )


def _reject_mismatch(path: str, sniffed: Sniffed, *, provisional: bool) -> Any:
    verdict = check_extension(path, sniffed, provisional=provisional)
    if verdict.mismatch:
        raise _RejectedError(
            RejectionCode.EXTENSION_MISMATCH,
            f"The name promises {verdict.promised} but the content is {_describe(sniffed)}; "
            "rename the file to match its content or upload the intended file.",
        )
    return verdict


@contextmanager
def _local_copy(
    store: ObjectStore,
    ref: ObjectRef,
    *,
    head: bytes,
    complete: bool,
    scratch_dir: Path,
    asset_id: str,
    sniffed: Sniffed,
) -> Iterator[Path]:
    """A scratch file a decoder can open, named by asset id (never by the untrusted key)."""
    scratch_dir.mkdir(parents=True, exist_ok=True)
    local = scratch_dir / f"{asset_id}.{sniffed.media_format}"
    try:
        if complete:
            local.write_bytes(head)  # the ranged read already holds the whole file
        else:
            store.download(ref, local)
        yield local
    finally:
        local.unlink(missing_ok=True)


def _pdf_over_model_limit(size: int) -> str:
    return (
        f"The PDF is {size:,} bytes, over the {MAX_MODEL_DOCUMENT_BYTES:,} bytes (4.5 MB) "
        "the model (Amazon Bedrock Converse) reads in one document; split it into smaller "
        "PDFs and upload those."
    )


def _too_large(size: int, limit: int, kind: str = "") -> _RejectedError:
    return _RejectedError(
        RejectionCode.TOO_LARGE,
        f"The {kind}file is {size:,} bytes, over the limit of {limit:,}; "
        "reduce or split it and upload it again.",
    )


def _describe(sniffed: Sniffed) -> str:
    kind = sniffed.modality or sniffed.family
    if sniffed.modality is not None:
        return f"{sniffed.media_format} {kind} ({sniffed.mime_type})"
    description = " ".join(sniffed.description.split(",")[0].split())[:80]
    return f"{description} ({sniffed.mime_type})"


def _quote(path: str) -> str:
    shown = path if len(path) <= _MAX_PATH_IN_MESSAGE else path[: _MAX_PATH_IN_MESSAGE - 3] + "..."
    return repr(shown)
