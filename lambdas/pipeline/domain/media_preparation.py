"""Prepare one asset for the model: what it reads, in the shape and size it accepts.

- Images: orientation fixed from EXIF, first frame only, transparency flattened on white,
  converted to RGB, longest edge at most `limits.model_image_max_edge`, re-encoded as JPEG
  with no metadata (no EXIF, GPS or ICC profile), written to `{work_prefix}prepared/{id}.jpg`.
  The decoded image is measured on the way (resolution and sharpness, `image_quality`), so
  the vision gate judges its sharpness without decoding it again.
- Text (txt, md, html, json): decoded, HTML reduced to its visible text, chunked with overlap on
  paragraph or sentence boundaries where possible, written to `{work_prefix}prepared/{id}.json`
  (the text tools doing it are in `text_tools`, shared with the intake gate).
- PDF: passed through as a document block when within Bedrock's document size limit.
- Video: passed through by S3 URI (the model reads it from the bucket).

For images, video and documents, the item's text assets (description, captions, transcript,
slides...) are loaded as companion text, to go into the prompt as untrusted data.
"""

from __future__ import annotations

import io
from typing import Literal, NamedTuple

from PIL import Image, ImageOps

from pipeline.adapters.storage import ObjectMissing, ObjectStore, put_json
from pipeline.config import Limits, PipelineConfig
from pipeline.domain.image_quality import QUALITY_MAX_EDGE, measure_image
from pipeline.domain.plans import load_asset
from pipeline.domain.text_tools import (
    chunk_text,
    has_visible_text,
    readable_text,
    trim_partial_utf8,
)
from pipeline.errors import MediaNotPreparable
from pipeline.observability import logger
from pipeline_contracts.item import Asset, ItemPlan
from pipeline_contracts.naming import WorkFiles
from pipeline_contracts.states.analyze_each_visual_asset import VisionIteration
from pipeline_contracts.states.prepare_media_for_the_model import PreparedMedia
from pipeline_contracts.work.alignment import ImageQuality
from pipeline_contracts.work.vision import Companions, CompanionText, TextChunks

# Bedrock Converse limits: 3.75 MB per image, 4.5 MB per document, 1 GB per video read from S3.
MAX_MODEL_IMAGE_BYTES = 3_750_000
MAX_MODEL_DOCUMENT_BYTES = 4_500_000
MAX_MODEL_VIDEO_BYTES = 1_000_000_000
JPEG_QUALITIES = (85, 75, 60, 45, 30)
# Companion text shared by one visual asset's prompt (all companions together).
MAX_COMPANION_CHARS = 24_000
MAX_COMPANIONS = 8
_TEXT_MODALITIES = frozenset({"text", "captions"})
_VISUAL = frozenset({"image", "video", "document"})


def prepare_media(
    request: VisionIteration, store: ObjectStore, config: PipelineConfig, processed_bucket: str
) -> PreparedMedia:
    plan, asset = load_asset(store, request.plan_uri, request.asset_id)
    prefix = WorkFiles(request.work_prefix).prepared(asset.asset_id)
    if asset.modality == "image":
        prepared = _prepare_image(asset, store, config.limits, processed_bucket, prefix)
    elif asset.modality in _TEXT_MODALITIES:
        prepared = _prepare_text(asset, store, config.limits, processed_bucket, prefix)
    elif asset.modality == "document":
        prepared = _pass_through(asset, "document", MAX_MODEL_DOCUMENT_BYTES)
    elif asset.modality == "video":
        prepared = _pass_through(asset, "video", MAX_MODEL_VIDEO_BYTES)
    else:
        raise MediaNotPreparable(f"{asset.modality} assets are not analysed by the vision branch")
    prepared = prepared.model_copy(update={"path": asset.path})
    if asset.modality not in _VISUAL:
        return prepared
    # A visual asset's answer is the prepared body plus the item's text that goes with it.
    companions, warnings = _companions(plan, asset, store, config.limits)
    with_text: dict[str, object] = {"warnings": [*prepared.warnings, *warnings]}
    if companions.companions:
        with_text["companions_uri"] = put_json(
            store, processed_bucket, f"{prefix}-companions.json", companions.model_dump(mode="json")
        )
        with_text["companion_count"] = len(companions.companions)
    return PreparedMedia.model_validate({**prepared.model_dump(), **with_text})


# --------------------------------------------------------------------------- images


def _prepare_image(
    asset: Asset, store: ObjectStore, limits: Limits, bucket: str, prefix: str
) -> PreparedMedia:
    data = _read_bounded(store, asset, limits.max_image_bytes, "image")
    image = prepared_jpeg(data, limits)
    uri = store.put_bytes(bucket, f"{prefix}.jpg", image.jpeg, "image/jpeg")
    return PreparedMedia(
        asset_id=asset.asset_id,
        modality=asset.modality,
        kind="image",
        input_uri=uri,
        input_format="jpeg",
        input_bytes=len(image.jpeg),
        width=image.width,
        height=image.height,
        quality=image.quality,
    )


class PreparedImage(NamedTuple):
    jpeg: bytes
    width: int
    height: int
    quality: ImageQuality


def prepared_jpeg(data: bytes, limits: Limits) -> PreparedImage:
    """Upright, RGB, bounded, metadata-free JPEG bytes of the image's first frame, and the
    quality of the image as decoded (before it is resized for the model).

    Decoders meet hostile bytes here, so any decoder failure is a MediaNotPreparable.
    """
    max_edge = limits.model_image_max_edge
    try:
        with Image.open(io.BytesIO(data)) as opened:
            if opened.width * opened.height > limits.max_image_pixels:
                raise MediaNotPreparable(
                    f"the image has {opened.width}x{opened.height} pixels, over the limit of "
                    f"{limits.max_image_pixels}"
                )
            stored_size = opened.size
            if opened.format == "JPEG":
                # Decode at a reduced scale when the image is much larger than both the model
                # and the quality measurement need.
                needed = max(max_edge, QUALITY_MAX_EDGE)
                opened.draft(None, (needed, needed))
            opened.seek(0)
            measured = measure_image(opened, stored_size)
            rgb = _to_rgb(_upright(opened))
    except MediaNotPreparable:
        raise
    except Exception as error:  # Pillow raises many exception types on hostile input
        raise MediaNotPreparable(f"the image could not be decoded: {error}") from error
    rgb.thumbnail((max_edge, max_edge), Image.Resampling.LANCZOS)
    for quality in JPEG_QUALITIES:
        buffer = io.BytesIO()
        # No exif=, icc_profile= or comment=: the output carries no metadata at all.
        rgb.save(buffer, "JPEG", quality=quality, optimize=True)
        if buffer.tell() <= MAX_MODEL_IMAGE_BYTES:
            return PreparedImage(buffer.getvalue(), rgb.width, rgb.height, measured)
    raise MediaNotPreparable("the image does not fit the model's 3.75 MB limit as a JPEG")


def _upright(image: Image.Image) -> Image.Image:
    try:
        return ImageOps.exif_transpose(image)
    except Exception:  # a malformed EXIF block must not lose the image
        logger.warning("EXIF orientation unreadable; the image is used as stored")
        image.load()
        return image


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        # High bit depth: stretch the actual range onto 8 bits instead of clipping to white.
        as_float = image.convert("F")
        low, high = as_float.getextrema()
        low_f, high_f = float(low), float(high)  # type: ignore[arg-type]
        span = (high_f - low_f) or 1.0
        image = as_float.point(lambda value: (value - low_f) * 255.0 / span).convert("L")
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        image.mode == "P" and "transparency" in image.info
    )
    if has_alpha:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB") if image.mode != "RGB" else image.copy()


# --------------------------------------------------------------------------- text


def _prepare_text(
    asset: Asset, store: ObjectStore, limits: Limits, bucket: str, prefix: str
) -> PreparedMedia:
    data = _read_bounded(store, asset, limits.max_text_bytes, "text")
    text, warnings = readable_text(data, asset.media_format)
    if not has_visible_text(text):
        raise MediaNotPreparable("the text asset has no readable text after cleaning")
    chunks = chunk_text(text, limits.text_chunk_chars, limits.text_chunk_overlap_chars)
    body = TextChunks(
        asset_id=asset.asset_id,
        source_format=asset.media_format,
        total_chars=len(text),
        chunk_chars=limits.text_chunk_chars,
        overlap_chars=limits.text_chunk_overlap_chars,
        chunks=chunks,
    )
    uri = put_json(store, bucket, f"{prefix}.json", body.model_dump(mode="json"))
    return PreparedMedia(
        asset_id=asset.asset_id,
        modality=asset.modality,
        kind="text",
        input_uri=uri,
        input_format="chunks",
        chunk_count=len(chunks),
        text_chars=len(text),
        warnings=warnings,
    )


# --------------------------------------------------------------------------- pass-through


def _pass_through(
    asset: Asset, kind: Literal["document", "video"], max_bytes: int
) -> PreparedMedia:
    if asset.size_bytes > max_bytes:
        raise MediaNotPreparable(
            f"the {asset.media_format} file is {asset.size_bytes} bytes; the model accepts at "
            f"most {max_bytes} bytes for a {kind}"
        )
    return PreparedMedia(
        asset_id=asset.asset_id,
        modality=asset.modality,
        kind=kind,
        input_uri=asset.source.uri,
        input_format=asset.media_format,
        input_bytes=asset.size_bytes,
        width=asset.width,
        height=asset.height,
    )


# --------------------------------------------------------------------------- companions


def _companions(
    plan: ItemPlan, visual: Asset, store: ObjectStore, limits: Limits
) -> tuple[Companions, list[str]]:
    """The item's other text assets, within one shared character budget."""
    candidates = [
        asset
        for asset in plan.assets
        if asset.modality in _TEXT_MODALITIES and asset.asset_id != visual.asset_id
    ][:MAX_COMPANIONS]
    budget = MAX_COMPANION_CHARS
    found: list[CompanionText] = []
    warnings: list[str] = []
    for asset in candidates:
        if budget <= 0:
            warnings.append(f"companion {asset.path} skipped: companion text budget used up")
            continue
        # Four bytes per character at most in UTF-8: read no more than the budget can use.
        max_bytes = min(limits.max_text_bytes, budget * 4 + 4)
        try:
            data = store.read_bytes(asset.source, max_bytes=max_bytes)
        except ObjectMissing:
            warnings.append(f"companion {asset.path} is missing")
            continue
        truncated = len(data) >= max_bytes and asset.size_bytes > max_bytes
        if truncated:
            data = trim_partial_utf8(data)
        text, decode_warnings = readable_text(data, asset.media_format)
        if len(text) > budget:
            text, truncated = text[:budget], True
        budget -= len(text)
        warnings.extend(f"companion {asset.path}: {warning}" for warning in decode_warnings)
        found.append(
            CompanionText(
                asset_id=asset.asset_id,
                path=asset.path,
                role=asset.role,
                relation=asset.relation,
                media_format=asset.media_format,
                text=text,
                truncated=truncated,
            )
        )
    return Companions(asset_id=visual.asset_id, companions=found), warnings


def _read_bounded(store: ObjectStore, asset: Asset, limit: int, kind: str) -> bytes:
    if asset.size_bytes > limit:
        raise MediaNotPreparable(f"the {kind} is {asset.size_bytes} bytes, over {limit}")
    try:
        data = store.read_bytes(asset.source, max_bytes=limit + 1)
    except ObjectMissing as error:
        raise MediaNotPreparable(f"the {kind} {asset.source.uri} no longer exists") from error
    if len(data) > limit:
        raise MediaNotPreparable(f"the {kind} is over {limit} bytes")
    return data
