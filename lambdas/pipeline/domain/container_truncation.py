"""Container sizes against the file: does an audio/video container promise more bytes than
the file has (a cut-off upload or copy)?

Byte-level parsers of the RIFF (WAV), ISO base media (mp4, mov, m4a) and Matroska (WebM, MKV)
headers, apart from the decoder (`av_probe`), which cannot see a cut-off copy when the index
sits at the front or there is no index at all. They read only the headers, never the media.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

_EBML_HEADER_ID = b"\x1a\x45\xdf\xa3"
_SEGMENT_ID = b"\x18\x53\x80\x67"


def truncation(path: Path, media_format: str) -> str | None:
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
