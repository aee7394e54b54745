"""Decode checks: does the file really decode, and is it within the limits?

Every check either returns what it learnt (size, duration, streams, warnings) or raises
`MediaCheckError` with a reason code and one human sentence. Decoders meet untrusted
bytes here, so any exception a decoder raises means "corrupt", never a crash. Headers are
not trusted either: sizes and lengths they claim are checked against the file (a cut-off
copy decodes fine at its start), and pixel counts are checked before anything is decoded.

Images, text, captions and PDFs are checked here; audio and video containers are probed in
`av_probe` (PyAV, optional at run time: without it the probe falls back to what the header
says and records a warning), which raises the same `MediaCheckError` with a `MediaInfo`.
"""

from __future__ import annotations

import re
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from pipeline.config import Limits
from pipeline.domain.captions import CaptionsUnparsable, caption_cues
from pipeline_contracts.item import RejectionCode

# Pages of a multi-page TIFF whose size is checked against the pixel limit.
_MAX_IMAGE_FRAMES_CHECKED = 100
_PILLOW_FORMATS = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP", "gif": "GIF", "tiff": "TIFF"}
_ORIENTATION_TAG = 0x0112
_SWAPPED_ORIENTATIONS = frozenset({5, 6, 7, 8})

# Image.MAX_IMAGE_PIXELS is process-wide; handlers may run on threads (local mode).
_pillow_lock = threading.Lock()


class MediaCheckError(Exception):
    """The file fails a check: the item is quarantined with this code and sentence."""

    def __init__(self, code: RejectionCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class MediaInfo:
    """What the decode checks learnt about one file."""

    width: int | None = None
    height: int | None = None
    duration_s: float | None = None
    sample_rate_hz: int | None = None
    has_audio: bool = False
    has_video: bool = False
    warnings: list[str] = field(default_factory=list)
    text: str | None = None


# --------------------------------------------------------------------------- images


def check_image(path: Path, media_format: str, limits: Limits) -> MediaInfo:
    """Decode the image fully; over the pixel limit is a decompression bomb."""
    pillow_format = _PILLOW_FORMATS.get(media_format)
    if pillow_format is None:
        raise MediaCheckError(
            RejectionCode.UNSUPPORTED_TYPE, f"{media_format} images are not supported."
        )
    with _pillow_lock, warnings.catch_warnings(record=True) as caught:
        Image.MAX_IMAGE_PIXELS = limits.max_image_pixels
        warnings.simplefilter("always")  # recorded, then kept on the asset
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(path, formats=[pillow_format]) as image:
                width, height = image.size
                _check_pixels(width, height, limits)
                if pillow_format == "TIFF":
                    _check_tiff_pages(image, limits)
                    image.seek(0)
                orientation = image.getexif().get(_ORIENTATION_TAG)
                image.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise MediaCheckError(
                RejectionCode.DECOMPRESSION_BOMB,
                f"The image declares more pixels than the limit of {limits.max_image_pixels:,} "
                f"({error.__class__.__name__}); resize it and upload it again.",
            ) from error
        except MediaCheckError:
            raise
        except MemoryError:
            raise
        except Exception as error:  # decoders raise many types on hostile input
            raise MediaCheckError(
                RejectionCode.CORRUPT_MEDIA,
                f"The {media_format} image cannot be decoded ({short_error(error, path)}); "
                "re-export it and upload it again.",
            ) from error
    if orientation in _SWAPPED_ORIENTATIONS:
        width, height = height, width  # report the size as displayed
    notes = dict.fromkeys(f"The image decoder warned: {short_error(w.message)}" for w in caught)
    return MediaInfo(width=width, height=height, warnings=list(notes)[:3])


def _check_pixels(width: int, height: int, limits: Limits) -> None:
    if width <= 0 or height <= 0:
        raise MediaCheckError(RejectionCode.CORRUPT_MEDIA, "The image declares a zero size.")
    if width * height > limits.max_image_pixels:
        raise MediaCheckError(
            RejectionCode.DECOMPRESSION_BOMB,
            f"The image declares {width}x{height} pixels, over the limit of "
            f"{limits.max_image_pixels:,}; resize it and upload it again.",
        )


def _check_tiff_pages(image: Image.Image, limits: Limits) -> None:
    pages = int(getattr(image, "n_frames", 1))
    for page in range(1, min(pages, _MAX_IMAGE_FRAMES_CHECKED)):
        image.seek(page)
        _check_pixels(*image.size, limits)


# --------------------------------------------------------------------------- text, captions


def _strict_utf8_text(data: bytes, what: str) -> str:
    """Strict UTF-8 (a BOM is fine); anything else is rejected with where it broke."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise MediaCheckError(
            RejectionCode.INVALID_TEXT_ENCODING,
            f"The {what} is UTF-16, not UTF-8; save it as UTF-8 and upload it again.",
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise MediaCheckError(
            RejectionCode.INVALID_TEXT_ENCODING,
            f"The {what} is not valid UTF-8 (byte {error.start} is 0x{data[error.start]:02x}); "
            "save it as UTF-8 and upload it again.",
        ) from error
    if "\x00" in text:
        raise MediaCheckError(
            RejectionCode.INVALID_TEXT_ENCODING,
            f"The {what} contains NUL characters, so it is not plain text; "
            "save it as UTF-8 text and upload it again.",
        )
    if not text.strip():
        raise MediaCheckError(
            RejectionCode.NO_CONTENT,
            f"The {what} contains only whitespace; upload a file with content.",
        )
    return text


def check_text(data: bytes, limits: Limits) -> MediaInfo:
    _check_text_size(len(data), limits, "text file")
    return MediaInfo(text=_strict_utf8_text(data, "text file"))


def check_captions(data: bytes, media_format: str, limits: Limits) -> MediaInfo:
    """Captions must decode as UTF-8 and hold at least one timed cue."""
    label = "WebVTT captions" if media_format == "webvtt" else "SRT captions"
    _check_text_size(len(data), limits, label)
    text = _strict_utf8_text(data, f"{label} file")
    info = MediaInfo(text=text)
    try:
        parsed = caption_cues(text, media_format)
    except CaptionsUnparsable as error:
        raise MediaCheckError(
            RejectionCode.CORRUPT_MEDIA,
            f"The {label} do not parse ({short_error(error)}); fix the file and upload it again.",
        ) from error
    cues = [cue for cue in parsed if cue.end_s > cue.start_s]
    if not cues:
        raise MediaCheckError(
            RejectionCode.CORRUPT_MEDIA,
            f"The {label} contain no timed cue; fix the file and upload it again.",
        )
    info.duration_s = max(cue.end_s for cue in cues)
    return info


def _check_text_size(size: int, limits: Limits, what: str) -> None:
    if size > limits.max_text_bytes:
        raise MediaCheckError(
            RejectionCode.TOO_LARGE,
            f"The {what} is {size:,} bytes, over the limit of {limits.max_text_bytes:,}; "
            "split it and upload the parts.",
        )


# --------------------------------------------------------------------------- documents


def check_pdf(path: Path) -> MediaInfo:
    """A PDF starts with %PDF- and ends (within its last KiB) with %%EOF, or it is truncated."""
    with path.open("rb") as reader:
        header = reader.read(1024)
        reader.seek(0, 2)
        size = reader.tell()
        reader.seek(max(0, size - 1024))
        tail = reader.read()
    if b"%PDF-" not in header:
        raise MediaCheckError(RejectionCode.CORRUPT_MEDIA, "The PDF has no %PDF- header.")
    if b"%%EOF" not in tail:
        raise MediaCheckError(
            RejectionCode.CORRUPT_MEDIA,
            "The PDF has no end-of-file marker, so it looks truncated; upload the complete file.",
        )
    return MediaInfo()


def short_error(error: BaseException | Warning | str, path: Path | None = None) -> str:
    """A decoder's complaint, on one line, without the scratch path."""
    text = str(error).strip().replace("\n", " ") or error.__class__.__name__
    text = re.sub(r"^\[Errno -?\d+\] ", "", text)
    if path is not None:
        text = text.replace(f"'{path}'", "the file").replace(str(path), "the file")
    return text if len(text) <= 160 else text[:157] + "..."
