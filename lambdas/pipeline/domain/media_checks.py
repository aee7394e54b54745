"""Decode checks: does the file really decode, and is it within the limits?

Every check either returns what it learnt (size, duration, streams, warnings) or raises
`MediaCheckError` with a reason code and one human sentence. Decoders meet untrusted
bytes here, so any exception a decoder raises means "corrupt", never a crash. Headers are
not trusted either: sizes and lengths they claim are checked against the file (a cut-off
copy decodes fine at its start), and pixel counts are checked before anything is decoded.

PyAV and pysubs2 are optional at run time (the Lambda layer may not ship them): without
them the checks fall back to what the header says and record a warning.
"""

from __future__ import annotations

import importlib
import re
import struct
import threading
import warnings
import wave
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, BinaryIO

from PIL import Image

from pipeline.config import Limits
from pipeline.models.item import RejectionCode

# Packets demuxed (and decoded) to prove the streams decode; a few frames, not the file.
_PROBE_PACKETS = 48
# Formats whose header states the length (FLAC's STREAMINFO, an MP3's Xing, Info or VBRI
# frame count) without an index of where the data ends: a cut-off copy still claims it all.
_LENGTH_IN_HEADER = frozenset({"flac", "mp3"})
_MP3_LENGTH_TAGS = (b"Xing", b"Info", b"VBRI")
# Seconds a file may end before its header says: frame counts are exact, so only rounding.
_CUT_SHORT_TOLERANCE_S = 1.0
# Pages of a multi-page TIFF whose size is checked against the pixel limit.
_MAX_IMAGE_FRAMES_CHECKED = 100
_PILLOW_FORMATS = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP", "gif": "GIF", "tiff": "TIFF"}
_EBML_HEADER_ID = b"\x1a\x45\xdf\xa3"
_SEGMENT_ID = b"\x18\x53\x80\x67"
_ORIENTATION_TAG = 0x0112
_SWAPPED_ORIENTATIONS = frozenset({5, 6, 7, 8})
_SRT_TIMING = re.compile(
    r"^\s*\d{1,2}:\d{2}:\d{2}[,.]\d{1,3}\s*-->\s*\d{1,2}:\d{2}:\d{2}[,.]\d{1,3}", re.MULTILINE
)
_VTT_TIMING = re.compile(
    r"^\s*(?:\d+:)?\d{2}:\d{2}\.\d{3}\s*-->\s*(?:\d+:)?\d{2}:\d{2}\.\d{3}", re.MULTILINE
)

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
                f"The {media_format} image cannot be decoded ({_short(error, path)}); "
                "re-export it and upload it again.",
            ) from error
    if orientation in _SWAPPED_ORIENTATIONS:
        width, height = height, width  # report the size as displayed
    notes = dict.fromkeys(f"The image decoder warned: {_short(w.message)}" for w in caught)
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


# --------------------------------------------------------------------------- audio, video


def _optional_module(name: str) -> ModuleType | None:
    """Import an optional decoder lazily; None when the runtime does not ship it."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def probe_av(path: Path, media_format: str, expected: str, limits: Limits) -> MediaInfo:
    """Streams, duration and a decode of the first packets; header-only without PyAV."""
    truncation = _truncation(path, media_format)
    if truncation is not None:
        raise MediaCheckError(
            RejectionCode.CORRUPT_MEDIA,
            f"The {media_format} file is truncated ({truncation}); upload the complete file.",
        )
    av = _optional_module("av")
    if av is None:
        info = _header_only(path, media_format, expected)
    else:
        info = _probe_with_pyav(av, path, media_format, limits)
    if info.duration_s is not None and info.duration_s > limits.max_media_duration_s:
        raise MediaCheckError(
            RejectionCode.TOO_LONG,
            f"The media lasts {info.duration_s / 3600:.2f} h, over the limit of "
            f"{limits.max_media_duration_s / 3600:.2f} h; split it and upload the parts.",
        )
    return info


def _probe_with_pyav(av: ModuleType, path: Path, media_format: str, limits: Limits) -> MediaInfo:
    try:
        container = av.open(str(path), mode="r", metadata_errors="ignore")
    except MemoryError:
        raise
    except Exception as error:
        raise MediaCheckError(
            RejectionCode.CORRUPT_MEDIA,
            f"The {media_format} file cannot be opened as media ({_short(error, path)}); "
            "re-export it and upload it again.",
        ) from error
    try:
        video = [s for s in container.streams.video if not _is_cover_art(s)]
        audio = list(container.streams.audio)
        if not video and not audio:
            raise MediaCheckError(
                RejectionCode.CORRUPT_MEDIA,
                f"The {media_format} file has no audio or video stream; "
                "upload a file with sound or pictures.",
            )
        selected = ([video[0]] if video else []) + ([audio[0]] if audio else [])
        if video:  # before any frame is decoded: one frame of a bomb is the damage
            _check_frame_pixels(video[0], media_format, limits)
        _decode_first_packets(container, selected, media_format)
        if video:  # some containers leave the size to the first decoded frame
            _check_frame_pixels(video[0], media_format, limits)
        duration = _duration(container, selected)
        if audio and duration and media_format in _LENGTH_IN_HEADER:
            _check_not_cut_short(container, audio[0], path, media_format, duration)
        info = MediaInfo(has_audio=bool(audio), has_video=bool(video), duration_s=duration)
        if audio:
            info.sample_rate_hz = int(audio[0].codec_context.sample_rate or 0) or None
        if video:
            info.width = int(video[0].codec_context.width or 0) or None
            info.height = int(video[0].codec_context.height or 0) or None
        if duration is None:
            info.warnings.append("The media duration could not be determined.")
        return info
    except MediaCheckError:
        raise
    except MemoryError:
        raise
    except Exception as error:
        raise MediaCheckError(
            RejectionCode.CORRUPT_MEDIA,
            f"The {media_format} file does not decode ({_short(error, path)}); "
            "re-export it and upload it again.",
        ) from error
    finally:
        container.close()


def _is_cover_art(stream: Any) -> bool:
    """Album art in mp3/m4a/flac appears as a one-picture video stream."""
    disposition = getattr(stream, "disposition", None)
    try:
        return bool(disposition is not None and disposition & disposition.__class__.attached_pic)
    except (AttributeError, TypeError):
        return False


def _check_frame_pixels(stream: Any, media_format: str, limits: Limits) -> None:
    width = int(stream.codec_context.width or 0)
    height = int(stream.codec_context.height or 0)
    if width * height > limits.max_video_frame_pixels:
        raise MediaCheckError(
            RejectionCode.DECOMPRESSION_BOMB,
            f"The {media_format} video declares {width}x{height} frames, over the limit of "
            f"{limits.max_video_frame_pixels:,} pixels a frame; scale it down and upload it "
            "again.",
        )


def _check_not_cut_short(
    container: Any, stream: Any, path: Path, media_format: str, declared_s: float
) -> None:
    """Seek to where the header says the audio ends and read on to the real end of the file.

    Decoding the first packets cannot see a cut-off FLAC or MP3: their headers state the
    length but hold no index of where the data ends, so a copy cut in half decodes fine,
    claims the whole length, and misleads every duration-based step after intake.
    """
    if media_format == "flac" and container.duration is None:
        return  # STREAMINFO gave no sample count (a streamed encode): nothing was claimed
    if media_format == "mp3" and not _mp3_states_length(path):
        return  # the duration is ffmpeg's estimate from the bitrate, not a claim
    try:
        end = _last_timestamp(container, stream, declared_s)
        if end is None:  # the seek found nothing there: read from the start instead
            end = _last_timestamp(container, stream, 0.0)
    except MemoryError:
        raise
    except Exception:  # an unseekable stream: the decode check above stands
        return
    if end is not None and declared_s - end > _CUT_SHORT_TOLERANCE_S:
        raise MediaCheckError(
            RejectionCode.CORRUPT_MEDIA,
            f"The {media_format} file is truncated (its header declares {declared_s:.1f} s of "
            f"audio, the file holds {end:.1f} s); upload the complete file.",
        )


def _last_timestamp(container: Any, stream: Any, from_s: float) -> float | None:
    """The end of the last packet after seeking to `from_s` (demuxing only, no decoding)."""
    container.seek(int(from_s * 1_000_000), backward=True)  # AV_TIME_BASE
    end = None
    for packet in container.demux(stream):
        if packet.pts is not None and packet.time_base is not None:
            packet_end = float((packet.pts + (packet.duration or 0)) * packet.time_base)
            end = packet_end if end is None else max(end, packet_end)
    return end


def _mp3_states_length(path: Path) -> bool:
    """Whether the first MPEG frame is a Xing, Info or VBRI header (which holds the frame
    count). ffmpeg takes the length from one when present, else estimates it from the
    bitrate, and does not say which; a VBR file without one may be estimated long."""
    with path.open("rb") as reader:
        head = reader.read(10)
        start = 0
        if len(head) == 10 and head[:3] == b"ID3":  # skip the ID3v2 tag (syncsafe size)
            start = 10 + sum((head[6 + i] & 0x7F) << (7 * (3 - i)) for i in range(4))
        reader.seek(start)
        first_frame = reader.read(4096)  # the tag sits in the first frame, after side info
    return any(tag in first_frame for tag in _MP3_LENGTH_TAGS)


def _decode_first_packets(container: Any, streams: list[Any], media_format: str) -> None:
    frames = {stream.index: 0 for stream in streams}
    packets = {stream.index: 0 for stream in streams}
    for count, packet in enumerate(container.demux(*streams)):
        if packet.size:
            packets[packet.stream.index] += 1
            frames[packet.stream.index] += len(packet.decode())
        if count >= _PROBE_PACKETS or all(n >= 2 for n in frames.values()):
            break
    for stream in streams:  # drain decoders that buffer a few packets (B-frames)
        if packets[stream.index] and not frames[stream.index]:
            frames[stream.index] += len(stream.codec_context.decode(None))
    if not any(packets.values()):
        raise MediaCheckError(
            RejectionCode.CORRUPT_MEDIA,
            f"The {media_format} file contains no media data; re-export it and upload it again.",
        )
    for stream in streams:
        if packets[stream.index] and not frames[stream.index]:
            raise MediaCheckError(
                RejectionCode.CORRUPT_MEDIA,
                f"The {stream.type} stream of the {media_format} file does not decode; "
                "re-export it and upload it again.",
            )


def _duration(container: Any, streams: list[Any]) -> float | None:
    if container.duration is not None and container.duration > 0:
        return float(container.duration) / 1_000_000  # AV_TIME_BASE
    durations = [
        float(stream.duration * stream.time_base)
        for stream in streams
        if stream.duration is not None and stream.time_base is not None and stream.duration > 0
    ]
    if durations:
        return max(durations)
    # No header duration (some streamed WebM/Matroska): the last timestamp, demuxing only.
    end = 0.0
    try:
        container.seek(0)
        for packet in container.demux(*streams):
            if packet.pts is not None and packet.time_base is not None:
                end = max(end, float((packet.pts + (packet.duration or 0)) * packet.time_base))
    except MemoryError:
        raise
    except Exception:  # an unseekable stream: the duration stays unknown (a warning)
        return end or None
    return end or None


def _truncation(path: Path, media_format: str) -> str | None:
    """Container sizes that promise more bytes than the file has (a cut-off upload or copy).

    Decoding the first packets cannot see this when the index sits at the front
    (fast-start MP4) or the container has no index (WebM), so the sizes are checked.
    """
    size = path.stat().st_size
    with path.open("rb") as reader:
        if media_format in ("mp4", "mov", "m4a"):
            return _iso_truncation(reader, size)
        if media_format in ("webm", "mkv"):
            return _matroska_truncation(reader, size)
        if media_format == "wav":
            return _riff_truncation(reader, size)
    return None


def _riff_truncation(reader: BinaryIO, size: int) -> str | None:
    """The RIFF size, then each chunk's: ffmpeg trusts the file over a `data` chunk that
    claims more, so a header that lies (or a cut-off copy with a patched RIFF size) would
    otherwise pass."""
    header = reader.read(12)
    if len(header) < 12 or header[:4] != b"RIFF" or header[8:12] != b"WAVE":
        return None  # RF64 and other layouts: the decoder judges them
    declared = struct.unpack("<I", header[4:8])[0]
    known = 36 <= declared < 0xFFFFFFFF
    if known and declared + 8 > size:
        return f"the RIFF header declares {declared + 8:,} bytes, the file has {size:,}"
    riff_end = declared + 8 if known else size  # bytes after it (an appended tag) are no chunk
    offset = 12
    while offset + 8 <= riff_end:
        reader.seek(offset)
        kind, length = struct.unpack("<4sI", reader.read(8))
        name = kind.decode("latin-1")
        if kind == b"data" and length in (0, 0xFFFFFFFF):
            return None  # a streaming writer could not go back to fill in the size
        if offset + 8 + length > size:
            return (
                f"the {name!r} chunk declares {length:,} bytes, "
                f"the file has {size - offset - 8:,} after its header"
            )
        offset += 8 + length + (length & 1)  # chunks are padded to an even size
    return None


def _iso_truncation(reader: BinaryIO, size: int) -> str | None:
    offset = 0
    while offset + 8 <= size:
        reader.seek(offset)
        header = reader.read(16)
        box_size, kind = struct.unpack(">I4s", header[:8])
        name = kind.decode("latin-1")
        if box_size == 0:
            return None  # the last box runs to the end of the file
        if box_size == 1:
            if len(header) < 16:
                return f"the {name!r} box header is cut off"
            box_size = struct.unpack(">Q", header[8:16])[0]
        if box_size < 8:
            return f"the {name!r} box has an invalid size"
        if offset + box_size > size:
            return f"the {name!r} box needs {offset + box_size:,} bytes, the file has {size:,}"
        offset += box_size
    return None


def _matroska_truncation(reader: BinaryIO, size: int) -> str | None:
    data = reader.read(4096)
    if data[:4] != _EBML_HEADER_ID:
        return None
    length, header_size, _ = _ebml_vint(data, 4)
    segment = 4 + length + header_size  # the Segment element follows the EBML header
    if length == 0 or data[segment : segment + 4] != _SEGMENT_ID:
        return None  # a layout this check does not understand: the decoder judges it
    length, segment_size, unknown = _ebml_vint(data, segment + 4)
    end = segment + 4 + length + segment_size
    if length and not unknown and end > size:
        return f"the Segment needs {end:,} bytes, the file has {size:,}"
    return None


def _ebml_vint(data: bytes, offset: int) -> tuple[int, int, bool]:
    """An EBML variable-length size: (its length in bytes, value, is "unknown size")."""
    if offset >= len(data) or data[offset] == 0:
        return 0, 0, False
    first = data[offset]
    length = 9 - first.bit_length()
    if offset + length > len(data):
        return 0, 0, False
    value = first & ((1 << (8 - length)) - 1)
    for byte in data[offset + 1 : offset + length]:
        value = (value << 8) | byte
    return length, value, value == (1 << (7 * length)) - 1


def _header_only(path: Path, media_format: str, expected: str) -> MediaInfo:
    """Without PyAV: WAV headers are read exactly; other formats are trusted by their magic."""
    note = "PyAV is not available here, so only the file header was checked."
    if media_format == "wav":
        try:
            with wave.open(str(path), "rb") as reader:
                frames, rate = reader.getnframes(), reader.getframerate()
        except (wave.Error, EOFError) as error:
            return MediaInfo(has_audio=True, warnings=[f"{note} ({_short(error)})"])
        if rate <= 0:
            raise MediaCheckError(
                RejectionCode.CORRUPT_MEDIA, "The WAV header declares no sample rate."
            )
        return MediaInfo(
            has_audio=True, duration_s=frames / rate, sample_rate_hz=rate, warnings=[note]
        )
    if expected == "video":
        return MediaInfo(
            has_video=True,
            has_audio=True,
            warnings=[f"{note} The presence of an audio track was assumed, not verified."],
        )
    return MediaInfo(has_audio=True, warnings=[note])


# --------------------------------------------------------------------------- text, captions


def decode_text(data: bytes, what: str) -> str:
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
    return MediaInfo(text=decode_text(data, "text file"))


def check_captions(data: bytes, media_format: str, limits: Limits) -> MediaInfo:
    """Captions must decode as UTF-8 and hold at least one timed cue."""
    label = "WebVTT captions" if media_format == "webvtt" else "SRT captions"
    _check_text_size(len(data), limits, label)
    text = decode_text(data, f"{label} file")
    pysubs2 = _optional_module("pysubs2")
    info = MediaInfo(text=text)
    if pysubs2 is None:
        pattern = _VTT_TIMING if media_format == "webvtt" else _SRT_TIMING
        if not pattern.search(text):
            raise MediaCheckError(
                RejectionCode.CORRUPT_MEDIA,
                f"The {label} contain no cue timing line; fix the file and upload it again.",
            )
        info.warnings.append("pysubs2 is not available here; only the cue timings were checked.")
        return info
    try:
        subtitles = pysubs2.SSAFile.from_string(
            text, format_="vtt" if media_format == "webvtt" else "srt"
        )
    except MemoryError:
        raise
    except Exception as error:
        raise MediaCheckError(
            RejectionCode.CORRUPT_MEDIA,
            f"The {label} do not parse ({_short(error)}); fix the file and upload it again.",
        ) from error
    cues = [event for event in subtitles.events if event.end > event.start]
    if not cues:
        raise MediaCheckError(
            RejectionCode.CORRUPT_MEDIA,
            f"The {label} contain no timed cue; fix the file and upload it again.",
        )
    info.duration_s = max(event.end for event in cues) / 1000
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


def _short(error: BaseException | Warning | str, path: Path | None = None) -> str:
    """A decoder's complaint, on one line, without the scratch path."""
    text = str(error).strip().replace("\n", " ") or error.__class__.__name__
    text = re.sub(r"^\[Errno -?\d+\] ", "", text)
    if path is not None:
        text = text.replace(f"'{path}'", "the file").replace(str(path), "the file")
    return text if len(text) <= 160 else text[:157] + "..."
