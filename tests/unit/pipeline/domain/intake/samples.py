"""Real media and requests for the intake tests: generators, kept tiny and offline.

Images come from Pillow, WAV from the `wave` module, other audio and video from the
ffmpeg CLI (lavfi test sources, see `FFMPEG_MEDIA`), text, captions and a PDF by hand.
One module of generators (about 315 lines), so every test builds its media the same way.
"""

from __future__ import annotations

import io
import math
import random
import struct
import subprocess
import wave
import zlib
from pathlib import Path
from typing import Any

from PIL import Image

from pipeline.config import Limits, PipelineConfig
from pipeline_contracts.item import ItemRequest, ObjectRef

INGEST_BUCKET = "ingest-bucket"
PROCESSED_BUCKET = "processed-bucket"
BUNDLE_PREFIX = "incoming/bundles/kettle-42/"


# --------------------------------------------------------------------------- images


def image_bytes(image: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def noise(size: tuple[int, int], seed: int = 7) -> Image.Image:
    rng = random.Random(seed)
    return Image.frombytes(
        "RGB", size, bytes(rng.getrandbits(8) for _ in range(size[0] * size[1] * 3))
    )


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def huge_png(width: int, height: int) -> bytes:
    """A valid, all-black 1-bit PNG of the declared size: a few KB for 400 megapixels."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    compressor = zlib.compressobj(9)
    row = b"\x00" * (1 + (width + 7) // 8)
    rows_per_chunk = 500
    parts = []
    for _ in range(height // rows_per_chunk):
        parts.append(compressor.compress(row * rows_per_chunk))
    parts.append(compressor.compress(row * (height % rows_per_chunk)))
    parts.append(compressor.flush())
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", b"".join(parts))
        + _png_chunk(b"IEND", b"")
    )


# --------------------------------------------------------------------------- audio, video


def wav_bytes(seconds: float = 0.5, rate: int = 8000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        samples = (
            int(8000 * math.sin(2 * math.pi * 440 * n / rate)) for n in range(int(seconds * rate))
        )
        writer.writeframes(b"".join(struct.pack("<h", s) for s in samples))
    return buffer.getvalue()


SINE = ["-f", "lavfi", "-i", "sine=frequency=440:duration=0.6:sample_rate=8000"]
PICTURE = ["-f", "lavfi", "-i", "testsrc=size=64x48:rate=5:duration=0.6"]
H264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]

# name -> (file name, ffmpeg arguments between the inputs and the output)
FFMPEG_MEDIA: dict[str, tuple[str, list[str]]] = {
    "mp3": ("a.mp3", [*SINE, "-c:a", "libmp3lame"]),
    "ogg": ("a.ogg", [*SINE, "-c:a", "libvorbis"]),
    "flac": ("a.flac", [*SINE, "-c:a", "flac"]),
    "m4a": ("a.m4a", [*SINE, "-c:a", "aac"]),
    # Audio only, but in a generic MP4 (brand isom): only the probe can tell.
    "mp4_audio_only": ("b.mp4", [*SINE, "-c:a", "aac"]),
    "mp4": ("v.mp4", [*PICTURE, *SINE, *H264, "-c:a", "aac", "-shortest"]),
    "mp4_silent": ("s.mp4", [*PICTURE, *H264]),
    "mov": ("v.mov", [*PICTURE, *SINE, *H264, "-c:a", "aac", "-shortest"]),
    "webm": (
        "v.webm",
        [*PICTURE, *SINE, "-c:v", "libvpx", "-b:v", "100k", "-c:a", "libopus", "-shortest"],
    ),
    "mkv": ("v.mkv", [*PICTURE, *SINE, *H264, "-c:a", "aac", "-shortest"]),
    "mp3_cover": (
        "c.mp3",
        [
            *SINE,
            "-f",
            "lavfi",
            "-i",
            "color=red:size=32x32:duration=0.1",
            "-map",
            "0:a",
            "-map",
            "1:v",
            "-frames:v",
            "1",
            "-c:a",
            "libmp3lame",
            "-c:v",
            "mjpeg",
            "-disposition:v",
            "attached_pic",
        ],
    ),
}


# --------------------------------------------------------------------------- text, captions

TEXTS: dict[str, bytes] = {
    "txt": b"The quick brown fox jumps over the lazy dog.\nIt was a sunny day.\n",
    "md": b"# Product notes\n\nThe **blue** kettle, see [the page](https://example.com).\n\n"
    b"- boils fast\n- quiet\n",
    "html": b"<!DOCTYPE html>\n<html><head><title>Kettle</title></head>"
    b"<body><p>A blue kettle.</p></body></html>\n",
    "json": b'{"name": "kettle", "colour": "blue", "price": 19.99, "tags": ["kitchen"]}\n',
    "webvtt": b"WEBVTT\n\n00:00:00.000 --> 00:00:01.500\nHello there.\n\n"
    b"00:00:01.500 --> 00:00:03.000\nThis is a kettle.\n",
    "srt": b"1\n00:00:00,000 --> 00:00:01,500\nHello there.\n\n"
    b"2\n00:00:01,500 --> 00:00:03,000\nThis is a kettle.\n",
    "utf8_bom": "\ufeffCafé crème, déjà vu.\n".encode(),
    "latin1": "Café crème brûlée, déjà vu.\n".encode("latin-1"),
    "utf16": "Hello in UTF-16, which is not UTF-8.\n".encode("utf-16"),
}


def minimal_pdf() -> bytes:
    """A valid one-page PDF with a correct cross-reference table, written by hand."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        None,  # the content stream, below
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    stream = b"BT /F1 12 Tf 20 50 Td (Hello, PDF) Tj ET"
    objects[3] = b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream"
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + (body or b"") + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


# --------------------------------------------------------------------------- requests


def config_with(**limits: Any) -> PipelineConfig:
    return PipelineConfig(limits=Limits(**limits))


def object_request(ref: ObjectRef, item_id: str = "item-1") -> ItemRequest:
    return ItemRequest(
        item_id=item_id, kind="object", source=ref, received_at="2026-01-01T00:00:00Z"
    )


def bundle_request(ref: ObjectRef, prefix: str, item_id: str = "bundle-1") -> ItemRequest:
    return ItemRequest(
        item_id=item_id,
        kind="bundle",
        source=ref,
        bundle_prefix=prefix,
        received_at="2026-01-01T00:00:00Z",
    )


# --------------------------------------------------------------------------- hostile headers
# Small files whose headers claim more than they hold: patched at test time, so no binary
# fixture is stored and each claim is plain to read.


def lying_wav(body: bytes) -> bytes:
    """The first half of a WAV with its RIFF size fixed up: only the data chunk still claims
    the whole recording."""
    cut = bytearray(body[: len(body) // 2])
    cut[4:8] = struct.pack("<I", len(cut) - 8)
    return bytes(cut)


def declare_image_size(data: bytes, fmt: str, width: int, height: int) -> bytes:
    """A small image whose header declares `width` x `height` pixels (a dimension bomb)."""
    out = bytearray(data)
    if fmt == "jpeg":  # the SOF0 segment: length, precision, height, width
        at = out.index(b"\xff\xc0")
        out[at + 5 : at + 9] = struct.pack(">HH", height, width)
    elif fmt == "gif":  # the logical screen, then the first image descriptor
        out[6:10] = struct.pack("<HH", width, height)
        at = out.index(b"\x2c", 13 + 3 * 2 ** ((out[10] & 0x07) + 1))
        out[at + 5 : at + 9] = struct.pack("<HH", width, height)
    elif fmt == "webp":  # lossless: 14 bits each of width - 1 and height - 1 after 0x2f
        at = out.index(b"VP8L") + 9
        bits = struct.unpack("<I", out[at : at + 4])[0] & ~((1 << 28) - 1)
        bits |= (width - 1) | ((height - 1) << 14)
        out[at : at + 4] = struct.pack("<I", bits)
    elif fmt == "tiff":  # ImageWidth (256) and ImageLength (257) in the first IFD
        ifd = struct.unpack("<I", out[4:8])[0]
        for entry in range(struct.unpack("<H", out[ifd : ifd + 2])[0]):
            at = ifd + 2 + 12 * entry
            tag, kind = struct.unpack("<HH", out[at : at + 4])
            if tag in (256, 257):
                value = width if tag == 256 else height
                packed = struct.pack("<I", value) if kind == 4 else struct.pack("<HH", value, 0)
                out[at + 8 : at + 12] = packed
    else:
        raise ValueError(fmt)
    return bytes(out)


def declare_frame_size(mov: bytes, width: int, height: int) -> bytes:
    """An MJPEG QuickTime file whose frames declare `width` x `height` pixels: in the sample
    description and in each frame's JPEG header, consistently, as a real one would."""
    out = bytearray(mov)
    entry = out.index(b"jpeg", out.index(b"stsd"))  # the visual sample entry's type
    out[entry + 28 : entry + 32] = struct.pack(">HH", width, height)
    frame = out.index(b"\xff\xc0", out.index(b"mdat"))  # 0xFFC0 is only ever a marker
    while frame != -1:
        out[frame + 5 : frame + 9] = struct.pack(">HH", height, width)
        frame = out.find(b"\xff\xc0", frame + 9)
    return bytes(out)


def png_with_text_bomb(png: bytes) -> bytes:
    """A valid PNG with a zTXt chunk that inflates to 200 MB."""
    bomb = b"Comment\x00\x00" + zlib.compress(b"A" * 200_000_000, 9)
    at = png.index(b"IDAT") - 4
    return png[:at] + _png_chunk(b"zTXt", bomb) + png[at:]


def svg_bomb() -> bytes:
    """Billion laughs in an SVG: an XML parser would expand it to gigabytes."""
    entities = '<!ENTITY a "aaaaaaaaaa">' + "".join(
        f'<!ENTITY {b} "{("&" + a + ";") * 10}">'
        for a, b in zip("abcdefgh", "bcdefghi", strict=True)
    )
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE svg [{entities}]>\n'
        '<svg xmlns="http://www.w3.org/2000/svg" width="100000" height="100000">'
        "<text>&i;</text></svg>\n"
    ).encode()


# name -> (file name, ffmpeg arguments): media for the checks of claimed lengths and rates.
SIX_SECONDS = ["-f", "lavfi", "-i", "sine=frequency=440:duration=6:sample_rate=8000"]
TONE_THEN_NOISE = [
    "-f",
    "lavfi",
    "-i",
    "sine=frequency=440:duration=3:sample_rate=16000",
    "-f",
    "lavfi",
    "-i",
    "anoisesrc=duration=3:amplitude=0.5:sample_rate=16000",
    "-filter_complex",
    "[0][1]concat=n=2:v=0:a=1",
]
HOSTILE_FFMPEG: dict[str, tuple[str, list[str]]] = {
    "flac_6s": ("long.flac", [*SIX_SECONDS, "-c:a", "flac"]),
    "mp3_6s": ("long.mp3", [*SIX_SECONDS, "-c:a", "libmp3lame"]),
    # VBR without a Xing frame: ffmpeg estimates the length from the bitrate of the quiet
    # start, too long for the loud end, and the file is still complete.
    "mp3_vbr_no_xing": (
        "vbr.mp3",
        [*TONE_THEN_NOISE, "-c:a", "libmp3lame", "-q:a", "9", "-write_xing", "0"],
    ),
    "flac_96k": ("hi.flac", ["-f", "lavfi", "-i", "sine=duration=0.3:sample_rate=96000"]),
    "m4a_96k": (
        "hi.m4a",
        ["-f", "lavfi", "-i", "sine=duration=0.3:sample_rate=96000", "-c:a", "aac"],
    ),
    "mov_4k_audio": (
        "lo.mov",
        [
            *PICTURE,
            "-f",
            "lavfi",
            "-i",
            "sine=duration=0.6:sample_rate=4000",
            "-c:v",
            "mjpeg",
            "-c:a",
            "pcm_s16le",
            "-shortest",
        ],
    ),
    "mjpeg_mov": ("frames.mov", [*PICTURE, "-c:v", "mjpeg"]),
}


def ffmpeg_file(arguments: list[str], target: Path) -> bytes:
    """Run the ffmpeg CLI to write `target` (the tests' one way to make media), and read it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["ffmpeg", "-v", "error", "-nostdin", "-y", *arguments, str(target)],
        check=True,
        timeout=60,
    )
    return target.read_bytes()
