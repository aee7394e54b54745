"""Content sniffing: what a file *is*, from its bytes, and whether its name agrees.

libmagic (python-magic) identifies binary formats from their magic bytes. It calls
SubRip captions and Markdown "text/plain", so this module adds small explicit checks for
WebVTT, SRT and Markdown. The modality never comes from the extension alone: the
extension is only compared with the content (see `extension_check.check_extension`).

The ISO base media family (mp4, mov, m4a) and Matroska/WebM can hold audio only or video;
the brand in the `ftyp` box says "audio" for m4a, and otherwise the media probe (PyAV)
has the last word (`av_probe.probe_av`).
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass
from typing import Literal

# The pylibmagic wheel bundles libmagic and its database; importing it first makes
# python-magic use them where the system has none (Lambda).
with contextlib.suppress(ImportError):
    import pylibmagic  # noqa: F401

import magic

from pipeline.domain.text_tools import trim_partial_utf8
from pipeline_contracts.vocabulary import Modality

SNIFF_BYTES = 64 * 1024

Family = Modality

# Formats whose container can carry audio only or video: the probe decides the modality.
AV_CONTAINERS = frozenset({"mp4", "mov", "m4a", "webm", "mkv"})


@dataclass(frozen=True)
class Sniffed:
    """What the content is. `modality is None` means a type the pipeline does not support."""

    modality: Modality | None
    media_format: str
    mime_type: str
    description: str
    # The family the content belongs to even when unsupported (a HEIC photo is still an
    # image); None for content that is no kind of media (executables, archives, data).
    family: Family | None


_BINARY_MIME: dict[str, tuple[Modality, str]] = {
    "image/jpeg": ("image", "jpeg"),
    "image/png": ("image", "png"),
    "image/apng": ("image", "png"),
    "image/webp": ("image", "webp"),
    "image/gif": ("image", "gif"),
    "image/tiff": ("image", "tiff"),
    "audio/x-wav": ("audio", "wav"),
    "audio/wav": ("audio", "wav"),
    "audio/wave": ("audio", "wav"),
    "audio/vnd.wave": ("audio", "wav"),
    "audio/mpeg": ("audio", "mp3"),
    "audio/mp3": ("audio", "mp3"),
    "audio/flac": ("audio", "flac"),
    "audio/x-flac": ("audio", "flac"),
    "audio/ogg": ("audio", "ogg"),
    "audio/opus": ("audio", "ogg"),
    "application/ogg": ("audio", "ogg"),
    "audio/x-m4a": ("audio", "m4a"),
    "audio/m4a": ("audio", "m4a"),
    "audio/mp4": ("audio", "m4a"),
    "audio/webm": ("audio", "webm"),
    "audio/x-matroska": ("audio", "mkv"),
    "video/mp4": ("video", "mp4"),
    "video/x-m4v": ("video", "mp4"),
    "video/quicktime": ("video", "mov"),
    "video/webm": ("video", "webm"),
    "video/x-matroska": ("video", "mkv"),
    "application/pdf": ("document", "pdf"),
}

_CANONICAL_MIME = {
    ("image", "jpeg"): "image/jpeg",
    ("image", "png"): "image/png",
    ("image", "webp"): "image/webp",
    ("image", "gif"): "image/gif",
    ("image", "tiff"): "image/tiff",
    ("audio", "wav"): "audio/wav",
    ("audio", "mp3"): "audio/mpeg",
    ("audio", "flac"): "audio/flac",
    ("audio", "ogg"): "audio/ogg",
    ("audio", "m4a"): "audio/mp4",
    ("audio", "mp4"): "audio/mp4",
    ("audio", "mov"): "audio/mp4",
    ("audio", "webm"): "audio/webm",
    ("audio", "mkv"): "audio/x-matroska",
    ("video", "mp4"): "video/mp4",
    ("video", "m4a"): "video/mp4",
    ("video", "mov"): "video/quicktime",
    ("video", "webm"): "video/webm",
    ("video", "mkv"): "video/x-matroska",
    ("document", "pdf"): "application/pdf",
    ("text", "txt"): "text/plain",
    ("text", "md"): "text/markdown",
    ("text", "html"): "text/html",
    ("text", "json"): "application/json",
    ("captions", "webvtt"): "text/vtt",
    ("captions", "srt"): "application/x-subrip",
}

_AUDIO_BRANDS = frozenset({b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B "})
_QUICKTIME_BRANDS = frozenset({b"qt  "})

_WEBVTT_HEADER = re.compile(r"\AWEBVTT(?:[ \t][^\r\n]*)?(?:\r?\n|\r|\Z)")
_SRT_TIMESTAMP = r"\d{1,2}:\d{2}:\d{2}[,.]\d{1,3}"
_SRT_CUE = re.compile(
    rf"\A\s*\d+[ \t]*\r?\n[ \t]*{_SRT_TIMESTAMP}[ \t]*-->[ \t]*{_SRT_TIMESTAMP}[^\r\n]*(?:\r?\n|\Z)"
)
_MD_STRONG = (
    re.compile(r"^#{1,6}[ \t]+\S", re.MULTILINE),  # ATX heading
    re.compile(r"^(?:```|~~~)", re.MULTILINE),  # fenced code
    re.compile(r"\[[^\]\n]+\]\([^)\s]+\)"),  # inline link or image
    re.compile(r"^\|.*\|[ \t]*\r?\n\|[ \t:|-]+\|", re.MULTILINE),  # table header + rule
)
_MD_WEAK = (
    re.compile(r"^[ \t]*[-*+][ \t]+\S", re.MULTILINE),  # bullet list
    re.compile(r"^[ \t]*\d+\.[ \t]+\S", re.MULTILINE),  # ordered list
    re.compile(r"^>[ \t]?\S", re.MULTILINE),  # block quote
    re.compile(r"(\*\*|__)[^\s*_][^*_\n]*\1"),  # strong emphasis
    re.compile(r"`[^`\n]+`"),  # inline code
    re.compile(r"^\S[^\n]*\r?\n(?:=+|-+)[ \t]*$", re.MULTILINE),  # setext heading
)


def mime_type(head: bytes) -> str:
    """libmagic's MIME type for these first bytes, without parameters."""
    return str(magic.from_buffer(head, mime=True)).split(";")[0].strip().lower()


def sniff(head: bytes, *, truncated: bool) -> Sniffed:
    """Identify content from its first bytes (`truncated` when the object is longer)."""
    if truncated:
        head = trim_partial_utf8(head)
    mime = mime_type(head)
    description = str(magic.from_buffer(head))
    if mime.startswith("text/") or mime == "application/json":
        return _sniff_text(head, mime, description)
    known = _BINARY_MIME.get(mime)
    if known is None:
        known = _iso_media(head)
    if known is None:
        return Sniffed(None, mime.split("/")[-1], mime, description, _family_of_mime(mime))
    modality, media_format = known
    if media_format in ("mp4", "m4a", "mov"):
        # libmagic and the brand agree on most files; the brand is the more specific.
        modality, media_format = _iso_media(head) or known
    return Sniffed(
        modality, media_format, canonical_mime(modality, media_format), description, modality
    )


def canonical_mime(modality: Modality, media_format: str) -> str:
    return _CANONICAL_MIME.get((modality, media_format), "application/octet-stream")


def looks_like_markdown(text: str) -> bool:
    """Markdown if it has one unmistakable construct or two different lighter ones."""
    if any(pattern.search(text) for pattern in _MD_STRONG):
        return True
    return sum(1 for pattern in _MD_WEAK if pattern.search(text)) >= 2


def caption_format(text: str) -> Literal["webvtt", "srt"] | None:
    """WebVTT starts with the WEBVTT line; SRT starts with a numbered cue and its timing."""
    text = text.lstrip("\ufeff")
    if _WEBVTT_HEADER.match(text):
        return "webvtt"
    if _SRT_CUE.match(text):
        return "srt"
    return None


def refine_text_format(sniffed: Sniffed, text: str) -> Sniffed:
    """Re-judge plain text once the whole file is known (a large JSON file looks like plain
    text in its first 64 KiB because libmagic's JSON check needs the end of the document)."""
    if sniffed.modality != "text" or sniffed.media_format not in ("txt", "md"):
        return sniffed
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped[:1] in ("{", "[") and _parses_as_json(stripped):
        return Sniffed("text", "json", canonical_mime("text", "json"), sniffed.description, "text")
    return sniffed


def _sniff_text(head: bytes, mime: str, description: str) -> Sniffed:
    if mime == "application/json":
        return Sniffed("text", "json", canonical_mime("text", "json"), description, "text")
    if mime == "text/html":
        return Sniffed("text", "html", canonical_mime("text", "html"), description, "text")
    # Decode leniently only to look at the structure; strict UTF-8 is checked later.
    text = head.decode("utf-8", errors="replace")
    captions = caption_format(text)
    if captions is not None:
        return Sniffed(
            "captions", captions, canonical_mime("captions", captions), description, "captions"
        )
    media_format = "md" if looks_like_markdown(text) else "txt"
    return Sniffed("text", media_format, canonical_mime("text", media_format), description, "text")


def _iso_media(head: bytes) -> tuple[Modality, str] | None:
    """The major brand of an ISO base media file (mp4, m4a, mov), if this is one."""
    if len(head) < 12 or head[4:8] != b"ftyp":
        return None
    brand = head[8:12]
    if brand in _AUDIO_BRANDS:
        return ("audio", "m4a")
    if brand in _QUICKTIME_BRANDS:
        return ("video", "mov")
    if brand[:3] in (b"3gp", b"3g2", b"hei", b"mif", b"avi", b"hev", b"msf", b"crx"):
        return None  # 3GPP, HEIF/AVIF images, Canon raw: not supported
    return ("video", "mp4")


def _family_of_mime(mime: str) -> Family | None:
    top = mime.split("/", maxsplit=1)[0]
    if top in ("image", "audio", "video"):
        return top  # type: ignore[return-value]
    if mime in (
        "application/msword",
        "application/rtf",
        "application/epub+zip",
        "application/postscript",
    ) or mime.startswith("application/vnd.openxmlformats"):
        return "document"
    return None


def _parses_as_json(text: str) -> bool:
    try:
        json.loads(text)
    except (ValueError, RecursionError):
        return False
    return True
