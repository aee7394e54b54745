"""Inspecting one asset: sniff it, compare its name, decode-check it, and describe it as an
`Asset` for the plan.

Reads are as small as the check allows: a ranged read of the first 64 KiB to sniff, the
whole object only for text (within the text limit), and a download to `scratch_dir` only
for the files a decoder must open (images, audio, video, PDF), deleted right after.

Every refusal is a `RejectedError` naming the asset (a `MediaCheckError` from the decode
checks is turned into one); the planning is in `intake`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from pipeline.adapters.speech import TRANSCRIBE_SAMPLE_RATES_HZ
from pipeline.adapters.storage import ObjectMissing, ObjectStore
from pipeline.config import Limits
from pipeline.domain.asset_location import Wanted
from pipeline.domain.av_probe import probe_av
from pipeline.domain.extension_check import check_extension
from pipeline.domain.intake_rejection import RejectedError, quote_path
from pipeline.domain.media_checks import (
    MediaCheckError,
    MediaInfo,
    check_captions,
    check_image,
    check_pdf,
    check_text,
)
from pipeline.domain.media_preparation import MAX_MODEL_DOCUMENT_BYTES
from pipeline.domain.sniffing import (
    AV_CONTAINERS,
    SNIFF_BYTES,
    Sniffed,
    canonical_mime,
    refine_text_format,
    sniff,
)
from pipeline.domain.text_tools import has_visible_text, readable_text
from pipeline_contracts.item import Asset, ObjectRef, RejectionCode

SUPPORTED_SUMMARY = (
    "JPEG, PNG, WebP, GIF, TIFF, WAV, MP3, FLAC, Ogg, M4A, MP4, MOV, WebM, MKV, "
    "UTF-8 text, Markdown, HTML, JSON, PDF, WebVTT or SRT"
)
_AUDIO_ONLY_FORMATS = frozenset({"wav", "mp3", "flac", "ogg"})
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


def asset_id_for(path: str) -> str:
    """Stable across retries and re-runs: a short hash of the asset's path."""
    return "a1-" + hashlib.sha256(path.encode("utf-8")).hexdigest()[:12]


def inspect_asset(
    store: ObjectStore, wanted: Wanted, limits: Limits, scratch_dir: Path, in_bundle: bool
) -> Asset:
    """Sniff and check one file; raise RejectedError naming the asset when it fails."""
    asset_path = wanted.path if in_bundle else None
    missing_code = RejectionCode.MISSING_ASSET if in_bundle else RejectionCode.OBJECT_NOT_FOUND
    label = quote_path(wanted.path)
    try:
        return _inspect_checked(store, wanted, limits, scratch_dir, in_bundle)
    except ObjectMissing as missing:
        raise RejectedError(
            missing_code,
            f"The file {label} no longer exists (it was deleted before processing); "
            "upload it again.",
            asset_path,
        ) from missing
    except MediaCheckError as rejected:
        message = f"{label}: {rejected.message}"
        raise RejectedError(rejected.code, message, asset_path) from rejected
    except RejectedError as rejected:
        raise RejectedError(
            rejected.rejection.code, f"{label}: {rejected.rejection.message}", asset_path
        ) from rejected


def _inspect_checked(
    store: ObjectStore, wanted: Wanted, limits: Limits, scratch_dir: Path, in_bundle: bool
) -> Asset:
    ref = wanted.ref
    size = wanted.size if wanted.size is not None else store.size(ref)
    if size == 0:
        raise RejectedError(RejectionCode.EMPTY_OBJECT, _EMPTY)
    if size > limits.max_media_bytes:
        raise _too_large(size, limits.max_media_bytes)
    head = store.read_bytes(ref, max_bytes=SNIFF_BYTES)
    if not head:
        raise RejectedError(RejectionCode.EMPTY_OBJECT, _EMPTY)
    complete = len(head) >= size
    sniffed = sniff(head, truncated=not complete)
    _reject_mismatch(wanted.path, sniffed, provisional=True)
    modality = sniffed.modality
    if modality is None:
        raise RejectedError(
            RejectionCode.UNSUPPORTED_TYPE,
            f"The content is {_describe(sniffed)}, which the pipeline does not accept; "
            f"convert it to one of {SUPPORTED_SUMMARY}.",
        )
    too_big_for_model = modality == "document" and size > MAX_MODEL_DOCUMENT_BYTES
    if too_big_for_model and not in_bundle:
        # Preparation passes a PDF to the model whole (it does not split pages).
        raise RejectedError(RejectionCode.TOO_LARGE, pdf_over_model_limit(size))
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
            raise RejectedError(
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
        warnings.append(pdf_over_model_limit(size))
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


def sampled_too_low(rate: int | None) -> bool:
    return rate is not None and rate < TRANSCRIBE_SAMPLE_RATES_HZ[0]


def _check_sample_rate(sniffed: Sniffed, info: MediaInfo) -> None:
    """Below 8 kHz, Transcribe refuses the audio and resampling cannot bring back what was
    never recorded: audio is rejected, a video keeps its pictures without a transcript.
    Above 48 kHz, the "Extract audio track" step resamples it (audio_extraction.py)."""
    rate = info.sample_rate_hz
    if rate is None or not info.has_audio:
        return
    low, high = TRANSCRIBE_SAMPLE_RATES_HZ
    if sampled_too_low(rate) and sniffed.modality == "audio":
        raise MediaCheckError(
            RejectionCode.UNSUPPORTED_SAMPLE_RATE,
            f"The audio is sampled at {rate:,} Hz, below the {low:,} Hz speech recognition "
            "needs (resampling cannot restore what was not recorded); upload a recording made "
            f"at {low // 1000} kHz or more.",
        )
    if sampled_too_low(rate):
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
        raise RejectedError(
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


def pdf_over_model_limit(size: int) -> str:
    return (
        f"The PDF is {size:,} bytes, over the {MAX_MODEL_DOCUMENT_BYTES:,} bytes (4.5 MB) "
        "the model (Amazon Bedrock Converse) reads in one document; split it into smaller "
        "PDFs and upload those."
    )


def _too_large(size: int, limit: int, kind: str = "") -> RejectedError:
    return RejectedError(
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
