"""Prepare one asset for the model: what it reads, in the shape and size it accepts.

- Images: orientation fixed from EXIF, first frame only, transparency flattened on white,
  converted to RGB, longest edge at most `limits.model_image_max_edge`, re-encoded as JPEG
  with no metadata (no EXIF, GPS or ICC profile), written to `{work_prefix}prepared/{id}.jpg`.
- Text (txt, md, html, json): decoded, HTML reduced to its visible text, chunked with overlap on
  paragraph or sentence boundaries where possible, written to `{work_prefix}prepared/{id}.json`.
- PDF: passed through as a document block when within Bedrock's document size limit.
- Video: passed through by S3 URI (the model reads it from the bucket).

For images, video and documents, the item's text assets (description, captions, transcript,
slides...) are loaded as companion text, to go into the prompt as untrusted data.
"""

from __future__ import annotations

import codecs
import io
import json
import math
import re
import unicodedata
from html.parser import HTMLParser
from typing import Literal

from PIL import Image, ImageOps
from pydantic import BaseModel, ConfigDict, Field

from pipeline.adapters.storage import ObjectMissing, ObjectStore, put_json
from pipeline.config import Limits, PipelineConfig
from pipeline.domain.plans import load_asset
from pipeline.errors import MediaNotPreparable
from pipeline.models.item import Asset, ItemPlan, Modality
from pipeline.models.manifest import Profile, Relation, Role
from pipeline.observability import logger

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


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PrepareRequest(_Model):
    """One iteration of the vision Map (its ItemSelector): the asset by id; the asset itself
    is read from the plan at `plan_uri`."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    asset_id: str
    item_id: str
    profile: Profile = "general"
    plan_uri: str
    work_prefix: str


class TextChunk(_Model):
    index: int = Field(ge=0)
    start: int = Field(ge=0, description="Offset of the chunk's first character in the text.")
    end: int = Field(ge=0)
    text: str


class TextChunks(_Model):
    """The body written for a text asset: its cleaned text, chunked."""

    asset_id: str
    source_format: str
    total_chars: int
    chunk_chars: int
    overlap_chars: int
    chunks: list[TextChunk]


class CompanionText(_Model):
    """A text asset of the same item, read as untrusted data for a visual asset's prompt."""

    asset_id: str
    path: str
    role: Role
    relation: Relation | None = None
    media_format: str
    text: str
    truncated: bool = False


class Companions(_Model):
    asset_id: str
    companions: list[CompanionText]


class PreparedMedia(_Model):
    """`$.prepared`: small; the bodies are in the processed bucket or the ingest object."""

    asset_id: str
    modality: Modality
    kind: Literal["image", "text", "document", "video"]
    input_uri: str = Field(description="What the model reads: prepared JPEG, chunks, or source.")
    input_format: str = Field(description="jpeg, chunks, pdf, or the video container.")
    input_bytes: int | None = None
    width: int | None = None
    height: int | None = None
    chunk_count: int = 0
    text_chars: int = 0
    companions_uri: str | None = None
    companion_count: int = 0
    warnings: list[str] = Field(default_factory=list)


def prepare_media(
    request: PrepareRequest, store: ObjectStore, config: PipelineConfig, processed_bucket: str
) -> PreparedMedia:
    plan, asset = load_asset(store, request.plan_uri, request.asset_id)
    prefix = f"{request.work_prefix}prepared/{asset.asset_id}"
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
    if asset.modality not in _VISUAL:
        return prepared
    companions, warnings = _companions(plan, asset, store, config.limits)
    if not companions.companions:
        return prepared.model_copy(update={"warnings": [*prepared.warnings, *warnings]})
    uri = put_json(
        store, processed_bucket, f"{prefix}-companions.json", companions.model_dump(mode="json")
    )
    return prepared.model_copy(
        update={
            "companions_uri": uri,
            "companion_count": len(companions.companions),
            "warnings": [*prepared.warnings, *warnings],
        }
    )


# --------------------------------------------------------------------------- images


def _prepare_image(
    asset: Asset, store: ObjectStore, limits: Limits, bucket: str, prefix: str
) -> PreparedMedia:
    data = _read_bounded(store, asset, limits.max_image_bytes, "image")
    jpeg, width, height = prepared_jpeg(data, limits)
    uri = store.put_bytes(bucket, f"{prefix}.jpg", jpeg, "image/jpeg")
    return PreparedMedia(
        asset_id=asset.asset_id,
        modality=asset.modality,
        kind="image",
        input_uri=uri,
        input_format="jpeg",
        input_bytes=len(jpeg),
        width=width,
        height=height,
    )


def prepared_jpeg(data: bytes, limits: Limits) -> tuple[bytes, int, int]:
    """Upright, RGB, bounded, metadata-free JPEG bytes of the image's first frame.

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
            if opened.format == "JPEG":
                # Decode at a reduced scale when the image is much larger than needed.
                opened.draft(None, (max_edge, max_edge))
            opened.seek(0)
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
            return buffer.getvalue(), rgb.width, rgb.height
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


def readable_text(data: bytes, media_format: str) -> tuple[str, list[str]]:
    """Decoded, visible, normalised text of a text or captions file, plus any warnings."""
    text, warnings = decode_text(data)
    if media_format == "html":
        text = html_to_text(text)
    elif media_format == "json":
        try:
            parsed = json.loads(text, parse_float=_finite_float)
            text = json.dumps(parsed, ensure_ascii=False, indent=2)
        except (json.JSONDecodeError, RecursionError):
            warnings.append("the JSON did not parse; it was read as plain text")
        except ValueError:  # numbers Python cannot carry through: see _finite_float
            warnings.append("the JSON holds numbers too large to re-format; it was read as written")
    elif media_format in ("webvtt", "srt"):
        text = caption_text(text)
    return clean_text(text), warnings


def _finite_float(literal: str) -> float:
    """A JSON number as a float, refused (ValueError) when past a float's range: re-formatted,
    1e400 would become "Infinity". Integers over 4,300 digits raise ValueError by themselves
    (Python's int-to-str limit), and both leave the text as written."""
    value = float(literal)
    if not math.isfinite(value):
        raise ValueError(f"the number {literal[:40]} is out of a float's range")
    return value


def decode_text(data: bytes) -> tuple[str, list[str]]:
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            return data.decode(encoding, errors="replace"), []
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError:
        return data.decode("utf-8", errors="replace"), [
            "the text is not valid UTF-8; undecodable bytes were replaced"
        ]


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_BLANK_LINES = re.compile(r"\n[ \t]*(?:\n[ \t]*){2,}")
_TRAILING_SPACE = re.compile(r"[ \t]+\n")


# What nobody sees: controls, format characters (zero-width spaces and joiners, bidi marks,
# BOMs), separators, lone surrogates and unassigned code points.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Cn", "Zs", "Zl", "Zp"})


def has_visible_text(text: str) -> bool:
    """Whether any character of `text` shows when displayed (intake and preparation agree)."""
    return any(unicodedata.category(char) not in _INVISIBLE_CATEGORIES for char in text)


def clean_text(text: str) -> str:
    """NFC, Unix newlines, no control or bidi-override characters, at most one blank line."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _CONTROL.sub("", text)
    text = _TRAILING_SPACE.sub("\n", text)
    return _BLANK_LINES.sub("\n\n", text).strip()


class _VisibleText(HTMLParser):
    # Only elements whose content is never shown; an unclosed one is closed again at <body>.
    _SKIPPED = frozenset({"script", "style", "template"})
    _BLOCKS = frozenset(
        {
            "p",
            "div",
            "br",
            "li",
            "ul",
            "ol",
            "tr",
            "table",
            "section",
            "article",
            "header",
            "footer",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "blockquote",
            "pre",
            "hr",
            "dt",
            "dd",
            "figure",
            "figcaption",
            "title",
            "main",
            "nav",
            "aside",
            "form",
        }
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":
            self._skip_depth = 0
        if tag in self._SKIPPED:
            self._skip_depth += 1
        elif tag in self._BLOCKS:
            self.parts.append("\n\n" if tag not in ("br", "li", "tr", "dd", "dt") else "\n")
        if tag == "img" and not self._skip_depth:
            alt = dict(attrs).get("alt")
            if alt and alt.strip():
                self.parts.append(f" [image: {alt.strip()}] ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIPPED:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag in self._BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._skip_depth:
            self.parts.append(re.sub(r"[ \t\r\n]+", " ", data))


def html_to_text(markup: str) -> str:
    """Visible text of an HTML document: tags, comments, scripts and styles removed."""
    parser = _VisibleText()
    parser.feed(markup)
    parser.close()
    lines = (line.strip() for line in "".join(parser.parts).split("\n"))
    return "\n".join(lines)


_CUE_TIMING = re.compile(r"^\s*(?:\d+:)?\d{1,2}:\d{2}[.,]\d{1,3}\s*-->")
_CUE_NUMBER = re.compile(r"^\s*\d+\s*$")
_VTT_TAG = re.compile(r"</?(?:c|v|i|b|u|ruby|rt|lang)(?:[.\s][^>]*)?>|<\d{1,2}:[\d:.]+>")


def caption_text(text: str) -> str:
    """The spoken words of a WebVTT or SRT file: headers, numbers, timings and notes removed."""
    kept: list[str] = []
    skipping_block = False
    for line in text.split("\n"):
        stripped = line.strip()
        if not stripped:
            skipping_block = False
            continue
        if stripped.startswith(("WEBVTT", "NOTE", "STYLE", "REGION")):
            skipping_block = True
            continue
        if skipping_block or _CUE_TIMING.match(stripped) or _CUE_NUMBER.match(stripped):
            continue
        kept.append(_VTT_TAG.sub("", stripped))
    return "\n".join(kept)


_PARAGRAPH_END = re.compile(r"\n[ \t]*\n")
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*(?=\s)|[。！？][」』）]*")
_WHITESPACE = re.compile(r"\s")


def chunk_text(text: str, size: int, overlap: int) -> list[TextChunk]:
    """Chunks of at most `size` characters, each starting `overlap` characters back.

    Cuts fall on the last paragraph break in the second half of the window, else the last
    sentence end, else the last whitespace, else exactly at `size`. Each next chunk starts at
    a sentence or word start inside the overlap. Always terminates, whatever the text.
    """
    if size < 1:
        raise ValueError("size must be positive")
    overlap = max(0, min(overlap, size // 2))
    total = len(text)
    chunks: list[TextChunk] = []
    start = 0
    while start < total:
        limit = min(start + size, total)
        end = total if limit == total else _cut(text, start + size // 2, limit)
        chunks.append(TextChunk(index=len(chunks), start=start, end=end, text=text[start:end]))
        if end >= total:
            break
        next_start = _align_start(text, end - overlap, end) if overlap else end
        while next_start < total and text[next_start].isspace():
            next_start += 1
        start = max(next_start, start + 1)
    return chunks


def _cut(text: str, low: int, limit: int) -> int:
    window = text[low:limit]
    for pattern in (_PARAGRAPH_END, _SENTENCE_END, _WHITESPACE):
        last = None
        for last in pattern.finditer(window):  # noqa: B007 - we want the last match
            pass
        if last is not None:
            return low + last.end()
    return limit


def _align_start(text: str, low: int, high: int) -> int:
    window = text[low:high]
    for pattern in (_SENTENCE_END, _WHITESPACE):
        found = pattern.search(window)
        if found is not None and low + found.end() < high:
            return low + found.end()
    return low


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
            data = _whole_characters(data)
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


def _whole_characters(data: bytes) -> bytes:
    """Drop a UTF-8 sequence cut off by a ranged read (at most 3 trailing bytes)."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte < 0x80:
            return data
        if byte >= 0xC0:  # a lead byte: is its sequence complete?
            needed = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return data if back >= needed else data[:-back]
    return data


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
